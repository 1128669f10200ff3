"""The VALT stream's state, options and report.

State (``meta.sync_state['valt']``), committed with the rows it covers:

- ``max_created_s``: the newest ``created`` (Unix s) among the recordings a committed
  listing page showed. An incremental run lists from ``start_date`` = its UTC date minus
  ``date_overlap_days``, so a recording that reaches the list late is still seen.
- ``last_sweep_ms``: "now" of the last complete sweep (a listing with no date filter, then
  the stored recordings it lacked made due for a details re-check). Set in the same
  transaction as that reconciliation, never after a failed or partial sweep.
- ``listing``: the listing in progress, so a killed run resumes it: ``mode`` (``sweep`` or
  ``incremental``), ``start_date`` (``MM-DD-YYYY`` or None), ``next_offset``, ``tail`` (the
  last ids of the previous full page: the next page must meet them, else deletions shifted
  the list and the walk looks back), ``page_len`` (the page length the server really
  serves), ``started_ms`` and ``reason``.

Which recordings need details is not in the state: it is the table ``meta.valt_details_due``,
written with the listing's checkpoints and emptied by the details' ones.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from connector.config import concurrency_from_env
from connector.kit import SyncReport

HOUR_MS = 3_600_000
DAY_MS = 86_400_000


@dataclass
class ValtState:
    max_created_s: int | None = None
    last_sweep_ms: int | None = None
    listing: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ValtState:
        if not data:
            return cls()
        return cls(
            max_created_s=data.get("max_created_s"),
            last_sweep_ms=data.get("last_sweep_ms"),
            listing=data.get("listing"),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SyncOptions:
    """Knobs of one VALT sync; the Dagster config and the CLI map onto these."""

    full_refresh: bool = False  # a sweep now, whatever its schedule
    list_page_size: int = 100  # asked per list page (the server may clamp it)
    # details requests in flight
    details_concurrency: int = field(default_factory=lambda: concurrency_from_env("valt", 16))
    staleness_days: float = 7.0  # every recording's details re-read at least this often
    run_interval_hours: float = 1.0  # expected time between runs (spreads the re-checks)
    retention_horizon_days: float = 7.0  # retention ending within this (either side): every run
    sweep_every_hours: float = 24.0  # a full listing (finds deletions) at least this often
    date_overlap_days: int = 2  # incremental listings start this many days before the newest
    checkpoint_rows: int = 5000  # commit every N listed or checked recordings
    now_ms: int | None = None  # "now" for the policy and the *_at columns; default: the clock
    list_overlap: int = 5  # consecutive list pages share this many positions
    list_concurrency: int = 8  # list pages in flight once the server's page length is known
    list_max_look_back: int = 20  # pages fetched backwards when a page does not meet the last
    max_list_pages: int = 1_000_000  # hard cap of one listing (the API reports no total)

    def __post_init__(self) -> None:
        if self.list_page_size <= self.list_overlap or self.list_overlap < 1:
            raise ValueError("list_page_size must be larger than list_overlap, which is >= 1")
        if self.staleness_days <= 0 or self.run_interval_hours <= 0:
            raise ValueError("staleness_days and run_interval_hours must be > 0")
        if self.retention_horizon_days < 0 or self.date_overlap_days < 0:
            raise ValueError("retention_horizon_days and date_overlap_days must be >= 0")


@dataclass
class ValtReport(SyncReport):
    """What one VALT run did (the kit's common fields plus listing and details detail)."""

    listing: str | None = None  # sweep | incremental (None: nothing listed)
    sweep_reason: str | None = None  # first_run | full_refresh | scheduled | resumed
    start_date: str | None = None  # the incremental listing's date filter
    list_pages: int = 0
    list_look_backs: int = 0  # pages fetched again because deletions shifted the list
    listed: int = 0  # list entries read (overlaps included)
    due_from_listing: int = 0  # recordings the listing showed new or changed
    unlisted: int = 0  # stored recordings a complete sweep lacked (re-checked)
    details_selected: int = 0
    details_by_reason: dict[str, int] = field(default_factory=dict)
    details_fetched: int = 0  # 200 answers
    details_not_found: int = 0  # 404 answers
    details_failed: dict[str, str] = field(default_factory=dict)  # record id -> why
    rolling_quota: int = 0
    recordings_removed: int = 0
    videos_written: int = 0
    logins: int = 0
    reauths: int = 0
    now_ms: int = 0
