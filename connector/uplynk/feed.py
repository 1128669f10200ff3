"""Walking ``/api2/asset/changes`` from the cursor to the feed's head.

Each page is checked before anything is applied (an ``end`` behind the page's own changes, or
further ahead of our clock than any vendor clock could be, is an error for that call, never a
cursor), its fresh changes are applied (states in hand are taken, missing ones fetched with
``asset/get``, deletes without a state become tombstones), and the cursor becomes the page's
``end``. A full page whose changes all sit at the cursor's millisecond cannot be paged past
(the vendor has no sub-millisecond paging): that is a *burst*, reported to the caller, which
reconciles with a full listing and then moves past it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from connector.timeutil import now_ms
from connector.uplynk.client import Change, ChangesPage, UplynkApiError, change_problem
from connector.uplynk.normalize import ASSETS_STREAM, CHANGES_STREAM, valid_asset_id

if TYPE_CHECKING:
    from connector.uplynk.state import FeedState
    from connector.uplynk.sync import UplynkBatch, UplynkSync

log = logging.getLogger(__name__)


@dataclass
class SideWalk:
    """A walk beside a new full listing: its rows, rejects and tombstones wait in their own
    ``batch`` and its position in its own ``state`` (nothing is committed while the listing
    runs, so a crash resumes from the cursor before it); ``unfetched`` are the ids whose
    change came without a state (fetched after the listing: their listed state may predate
    the change)."""

    batch: UplynkBatch
    state: FeedState
    unfetched: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FeedEnd:
    """Where a walk stopped: the feed head (last ``end``), or a burst at ``burst_ms``."""

    head_ms: int
    burst_ms: int | None = None


def check_page(page: ChangesPage, max_clock_skew_ms: int) -> None:
    """Raise when the page's ``end`` cannot be the next start."""
    last = max((c.ts_ms for c in page.changes), default=None)
    if last is not None and page.end < last:
        raise UplynkApiError(
            "/api2/asset/changes", 0, f"end {page.end} is behind the page's last change {last}"
        )
    ahead = page.end - now_ms()
    if ahead > max_clock_skew_ms:
        raise UplynkApiError(
            "/api2/asset/changes",
            0,
            f"end {page.end} is {ahead / 3_600_000:.1f} h ahead of the local clock "
            f"(more than the {max_clock_skew_ms / 3_600_000:g} h any vendor clock may be)",
        )


def is_burst(page: ChangesPage, cursor: int, fresh: list[Change], min_changes: int) -> bool:
    """A page that is full of changes at exactly ``cursor`` = ``end``, none of them new."""
    return (
        not fresh
        and page.end == cursor
        and len(page.changes) >= min_changes
        and all(c.ts_ms == cursor for c in page.changes)
    )


class FeedWalk:
    """The change-feed half of :class:`~connector.uplynk.sync.UplynkSync`."""

    async def walk_feed(
        self: UplynkSync, start_ms: int, *, fetch_states: bool = True, side: SideWalk | None = None
    ) -> FeedEnd:
        """Apply the feed from ``start_ms`` to its head (or to a burst). Without
        ``fetch_states`` (a full listing that stores every live state follows), changes whose
        state the page does not carry are recorded but not fetched with ``asset/get``. With
        ``side``, the walk goes into it instead of the run's batch and state (see
        :class:`SideWalk`)."""
        opts = self.options
        cursor = start_ms
        state = self.state if side is None else side.state
        boundary = {tuple(b) for b in state.boundary} if start_ms == state.cursor_ms else set()
        while True:
            page = await self.client.changes(cursor)
            self.report.feed_pages += 1
            check_page(page, opts.max_clock_skew_ms)
            # (ts, action, id) is the change's identity: repeats within a page collapse too
            fresh = list(dict.fromkeys(c for c in page.changes if c.key not in boundary))
            self.reject_malformed(page, side)
            if fresh:
                await self.apply_changes(page, fresh, fetch_states, side)
            if is_burst(page, cursor, fresh, opts.burst_min_changes):
                self.report.bursts += 1
                log.warning(
                    "uplynk: more changes at %d ms than one page holds (%d on the page): "
                    "reconciling with a full listing to get past them",
                    cursor,
                    len(page.changes),
                )
                return FeedEnd(cursor, burst_ms=cursor)
            if page.end != cursor:
                boundary = {c.key for c in page.changes if c.ts_ms == page.end}
            else:
                boundary |= {c.key for c in fresh}
            cursor = page.end  # the vendor's end, even when it is below the start we sent
            state.cursor_ms = cursor
            state.boundary = sorted(list(b) for b in boundary)
            if side is not None:  # nothing committed until the listing beside it is done
                if not fresh:
                    return FeedEnd(cursor)
                continue
            self.pages_since_checkpoint += 1
            if not fresh:
                return FeedEnd(cursor)
            await self.checkpoint()

    async def apply_changes(
        self: UplynkSync,
        page: ChangesPage,
        fresh: list[Change],
        fetch_states: bool = True,
        side: SideWalk | None = None,
    ) -> None:
        batch = self.batch if side is None else side.batch  # read now: checkpoints swap it
        batch.add_changes([(c.ts_ms, c.action, c.asset_id) for c in fresh])
        self.report.changes += len(fresh)
        latest = {c.asset_id: c for c in fresh}
        records, missing = [], []
        for asset_id, change in latest.items():
            if not valid_asset_id(asset_id):
                batch.reject(
                    CHANGES_STREAM, asset_id, "asset id is not 32 lowercase hex", list(change.key)
                )
                continue
            state = page.assets.get(asset_id)
            if state is not None:
                records.append(state)
            elif change.action == "delete":
                batch.add_tombstone(asset_id, change.ts_ms)
            else:  # update, create, or any other action: a change whose state we fetch
                missing.append(asset_id)
            if change.action == "delete":
                self.report.deleted += 1
        batch.add_assets(records)
        if missing and fetch_states:
            fetched = await self.client.get_assets(missing)
            self.report.assets_fetched += len(fetched)
            batch.add_assets(fetched)
        elif missing and side is not None:
            side.unfetched.extend(missing)

    def reject_malformed(self: UplynkSync, page: ChangesPage, side: SideWalk | None) -> None:
        batch = self.batch if side is None else side.batch
        for entry in page.malformed:
            reason = change_problem(entry) or "change is not [ts_ms, action, asset id]"
            batch.reject(CHANGES_STREAM, None, reason, entry)
        for key, record, reason in page.misfiled:
            batch.reject(ASSETS_STREAM, key, reason, record)
