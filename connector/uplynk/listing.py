"""Full ``/api2/asset/list`` reconciliation: every live asset, then the deletions the feed
forgot.

Ordered by ``created``, new assets only append at the end; a deletion, though, shifts every
later asset one position left, so a page fetched after deletions before its offset starts
late, and a plain skip/limit walk would never see the assets that slid past its start.
Pages therefore overlap by ``list_overlap`` assets, and a page whose head does not meet the
previous page's tail triggers a look-back fetch. Every id the listing returns (a record that
fails validation included: it keeps its last good state, it is not missing) goes to
``meta.uplynk_listing_seen``; after the listing, stored live assets it did not return are
re-checked with ``asset/get`` and tombstoned when really gone.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from connector.uplynk.client import UplynkApiError
from connector.uplynk.listed_page import ListedPage, listed_ids
from connector.warehouse import sql_file

if TYPE_CHECKING:
    from connector.uplynk.feed import FeedEnd
    from connector.uplynk.sync import UplynkSync

log = logging.getLogger(__name__)


class ListingDoesNotEnd(UplynkApiError):
    """asset/list keeps answering full pages that repeat themselves, or past any bound."""


def check_listing_bound(pages: int, stalled: int, max_pages: int) -> None:
    """Fail clearly when the listing cannot be ending: pages that repeat the page before
    (three in a row), or more pages than any catalog this connector is meant for."""
    if stalled >= 3:
        raise ListingDoesNotEnd(
            "/api2/asset/list", 0, f"{stalled} pages in a row repeat the page before them"
        )
    if pages > max_pages:
        raise ListingDoesNotEnd(
            "/api2/asset/list", 0, f"more than {max_pages} pages (list_max_pages): no end"
        )


class FullListing:
    """The listing half of :class:`~connector.uplynk.sync.UplynkSync`."""

    async def begin_listing(
        self: UplynkSync, head_ms: int | None, reason: str, burst_ms: int | None = None
    ) -> None:
        self.state.listing = {
            "head_ms": head_ms,
            "next_skip": 0,
            "reason": reason,
            "burst_ms": burst_ms,
        }
        self.batch.clear_seen = True
        await self.checkpoint(force=True)

    async def list_beside_feed(self: UplynkSync, start_ms: int, reason: str) -> FeedEnd:
        """A new full listing with the feed walked from ``start_ms`` beside it, then what
        follows every listing (:meth:`after_listing`).

        The walk's rows wait in their own batch (:class:`~connector.uplynk.feed.SideWalk`)
        and go after the listed states once the listing is done; its position becomes the
        cursor only then (a crash meanwhile resumes the listing with the feed walked from
        ``start_ms`` first). The ids whose changes came without a state are fetched with
        ``asset/get`` once the walk has ended. Why that is exact: the last page holding an
        asset's latest change before the walk's end carries its state as of that page,
        later than the change (or the state is fetched after the walk's end); a change
        after that lies past the walk's end, where the walk after the listing starts; so a
        listed state fetched later than the walk's state is either the same or changed
        past the walk's end.
        """
        from connector.uplynk.feed import SideWalk
        from connector.uplynk.state import FeedState
        from connector.uplynk.sync import UplynkBatch

        state = self.state
        if state.cursor_ms is None:
            state.cursor_ms, state.boundary = start_ms, []  # a resume walks from here
        self.report.reconciled = reason
        await self.begin_listing(None, reason)
        side = SideWalk(UplynkBatch(), FeedState(state.cursor_ms, list(state.boundary)))

        async def walk_beside() -> FeedEnd:
            end = await self.walk_feed(start_ms, fetch_states=False, side=side)
            if side.unfetched:  # fetched now: any later change lies past the walk's end
                fetched = await self.client.get_assets(list(dict.fromkeys(side.unfetched)))
                self.report.assets_fetched += len(fetched)
                side.batch.add_assets(fetched)
            return end

        walking = asyncio.ensure_future(walk_beside())
        listing = asyncio.ensure_future(self.list_everything())
        try:
            first, _ = await asyncio.gather(walking, listing)
        finally:
            for task in (walking, listing):
                task.cancel()  # nothing when done; the other one's failure stops it
            await asyncio.gather(walking, listing, return_exceptions=True)
        assert state.listing is not None
        state.listing["head_ms"], state.listing["burst_ms"] = first.head_ms, first.burst_ms
        self.batch.absorb(side.batch)
        state.cursor_ms, state.boundary = side.state.cursor_ms, side.state.boundary
        return await self.after_listing(first.burst_ms)

    async def after_listing(self: UplynkSync, burst_ms: int | None) -> FeedEnd:
        """Deletions the listing shows, then the feed from the cursor (changes during it)."""
        await self.tombstone_unlisted()
        if burst_ms is not None and self.state.cursor_ms == burst_ms:
            # the listing holds every state the burst changed: move past its millisecond
            self.state.cursor_ms, self.state.boundary = burst_ms + 1, []
        return await self.walk_feed(self.state.cursor_ms)

    async def list_everything(self: UplynkSync) -> None:
        """Page ``asset/list`` with a window of requests in flight (see the module doc)."""
        opts = self.options
        listing = self.state.listing
        assert listing is not None
        limit, overlap = opts.list_page_size, opts.list_overlap
        stride = limit - overlap
        next_skip = int(listing["next_skip"])
        pending: dict[int, asyncio.Task] = {}
        to_schedule = next_skip
        prev_tail: set[str] | None = None  # last ids of the previous page, when it was full
        prev_ids: set[str] = set()
        stalled = 0  # consecutive full pages that brought no id the page before lacked
        try:
            while True:
                while len(pending) < opts.list_concurrency:
                    task = asyncio.create_task(self.client.list_page(to_schedule, limit))
                    pending[to_schedule] = task
                    to_schedule += stride
                page = await pending.pop(next_skip)
                self.report.list_pages += 1
                ids = page.ids
                stalled = stalled + 1 if prev_ids.issuperset(ids) and ids else 0
                check_listing_bound(self.report.list_pages, stalled, opts.list_max_pages)
                prev_ids = set(ids)
                # an empty or short last page must meet the previous page too: deletions
                # may have pulled the end of the list below its offset
                if prev_tail is not None and prev_tail.isdisjoint(ids[:overlap]):
                    for earlier in await self.look_back(next_skip, prev_tail):
                        self.take_listed(earlier)
                self.take_listed(page)
                prev_tail = set(ids[-overlap:]) if page.count >= limit else None
                next_skip += stride
                listing["next_skip"] = next_skip
                if page.count < limit:
                    return
                if self.batch.n_assets >= opts.listing_checkpoint_rows:
                    await self.checkpoint(force=True)
        finally:
            for task in pending.values():
                task.cancel()
            if pending:
                await asyncio.gather(*pending.values(), return_exceptions=True)

    async def look_back(self: UplynkSync, skip: int, prev_tail: set[str]) -> list[ListedPage]:
        """Fetch the pages before ``skip`` until one meets the previous page's tail."""
        limit = self.options.list_page_size
        found: list[ListedPage] = []
        for back in range(1, self.options.list_max_look_back + 1):
            start = max(0, skip - back * limit)
            page = await self.client.list_page(start, limit)
            self.report.list_pages += 1
            self.report.list_look_backs += 1
            found.append(page)
            if start == 0 or not prev_tail.isdisjoint(page.ids):
                return found
        log.warning(
            "asset/list shifted by more than %d assets during the listing (deletions); "
            "assets it skipped are picked up by their next change or the next reconciliation",
            self.options.list_max_look_back * limit,
        )
        return found

    def take_listed(self: UplynkSync, page: ListedPage) -> None:
        self.batch.add_rows(page.rows, page.rejects)
        self.batch.seen.extend(page.ids)

    async def tombstone_unlisted(self: UplynkSync) -> None:
        """Stored live assets the listing did not return: re-check, tombstone if gone."""
        await self.checkpoint(force=True, wait=True)
        candidates = [
            r[0] for r in self.warehouse.query(sql_file(__file__, "unlisted_live_assets"))
        ]
        listing = self.state.listing
        assert listing is not None
        if candidates:
            alive = await self.client.get_assets(candidates)
            self.report.assets_fetched += len(alive)
            self.batch.add_assets(alive)
            alive_ids = set(listed_ids(alive))
            gone = [c for c in candidates if c not in alive_ids]
            for asset_id in gone:  # deleted at some point before the listing started
                self.batch.add_tombstone(asset_id, int(listing["head_ms"]), "reconcile")
            self.report.deleted += len(gone)
            log.info(
                "reconciliation: %d unlisted, %d still alive, %d deleted",
                len(candidates),
                len(alive_ids),
                len(gone),
            )
        self.state.last_reconciled_ms = int(listing["head_ms"])
        self.state.listing = None
        self.batch.clear_seen = True
        await self.checkpoint(force=True)
