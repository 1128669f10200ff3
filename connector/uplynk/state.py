"""The Uplynk stream's state, options and report.

State (``meta.sync_state['uplynk']``), committed with the rows it covers:

- ``cursor_ms``: the feed has been applied up to here: the vendor's last ``end``, exactly as
  the doc says ("use this value as the starting point for subsequent calls"), even when it
  is below the ``start`` that was sent (the vendor's clock behind ours);
- ``boundary``: the changes at exactly ``cursor_ms`` already applied. The feed is inclusive
  at both ends, so the next page repeats them; they are skipped by (ts, action, id);
- ``listing``: a full ``asset/list`` reconciliation in progress (``head_ms``, ``next_skip``,
  ``reason``, and ``burst_ms`` when it was started to get past a burst);
- ``last_reconciled_ms``: the feed head at which the last listing started.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from connector.config import concurrency_from_env
from connector.kit import SyncReport

HOUR_MS = 3_600_000


@dataclass
class FeedState:
    cursor_ms: int | None = None
    boundary: list[list[Any]] = field(default_factory=list)
    listing: dict[str, Any] | None = None
    last_reconciled_ms: int | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> FeedState:
        if not data:
            return cls()
        return cls(
            cursor_ms=data.get("cursor_ms"),
            boundary=[list(b) for b in data.get("boundary") or []],
            listing=data.get("listing"),
            last_reconciled_ms=data.get("last_reconciled_ms"),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SyncOptions:
    """Knobs of one Uplynk sync; the Dagster config and the CLI map onto these."""

    delete_window_ms: int = 6 * HOUR_MS  # the vendor keeps deletions this long
    safety_margin_ms: int = 10 * 60_000  # reconcile this much before the window closes
    first_run_lookback_ms: int = 10 * 60_000  # covers clock skew (signing allows 5 min)
    max_clock_skew_ms: int = 24 * HOUR_MS  # an `end` further ahead of our clock is wrong
    burst_min_changes: int = 100  # a full page all at the cursor's ms is a burst
    max_bursts_per_run: int = 3  # each burst costs a listing; the next run continues
    checkpoint_pages: int = 20  # commit at least every N feed pages ...
    checkpoint_rows: int = 50_000  # ... or every N buffered rows
    listing_checkpoint_rows: int = 100_000  # full listings commit in bigger batches (assets)
    list_page_size: int = 100  # the API's maximum
    list_overlap: int = 5  # consecutive listing pages share this many positions
    list_max_look_back: int = 20  # pages fetched backwards when a page does not meet the last
    list_concurrency: int = field(default_factory=lambda: concurrency_from_env("uplynk", 8))
    list_max_pages: int = 2_000_000  # a listing longer than this (~190M assets) never ends
    full_refresh: bool = False


@dataclass
class UplynkReport(SyncReport):
    """What one Uplynk run did (the kit's common fields plus the feed's detail)."""

    changes: int = 0
    feed_pages: int = 0
    list_pages: int = 0
    list_look_backs: int = 0  # extra pages fetched because deletions shifted the listing
    assets_fetched: int = 0
    get_batch_errors: int = 0  # asset/get batches the vendor failed (narrowed down by bisection)
    get_extra_calls: int = 0  # calls spent narrowing them down
    get_absent: int = 0  # ids found absent that way
    bursts: int = 0  # pages of changes all at one ms, more than a page holds
    reconciled: str | None = (
        None  # why a full listing ran: first_run, full_refresh, stale_cursor, burst
    )
