"""The recordings list: a sweep (no date filter) or an incremental listing (from a date).

``POST /api/v3/records`` is offset-paged, ordered by ``created`` then id, and reports no
total. New recordings append at the end; a deletion shifts every later recording one
position left, so a page fetched after deletions before its offset starts late, and a plain
offset walk would never see the recordings that slid past its start. Pages therefore
overlap by ``list_overlap`` positions, and a page that does not meet the previous page's
tail triggers a look-back (the pages before it, until one meets the tail). The walk ends on
a page shorter than the page the server serves: a first short page is read as the server's
own cap (it may clamp ``limit``) and confirmed by one more request. Once the page length is
known, ``list_concurrency`` pages are in flight (the offsets ahead are known; a page that
comes back short or shifted simply makes the prefetched ones unused, never trusted); a first
short page, which may be the end, is confirmed alone.

Every page's ids go to ``meta.valt_details_due`` when new or changed, and, in a sweep, to
``meta.valt_listing_seen``. Only once a sweep is COMPLETE are the stored recordings it
lacked made due (``unlisted``), in the same transaction that records the sweep as done.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from connector.timeutil import utc_from_ms
from connector.valt import store
from connector.valt.normalize import RECORDINGS_STREAM, listed_entry
from connector.valt.state import HOUR_MS

if TYPE_CHECKING:
    from connector.valt.sync import ValtSync

log = logging.getLogger(__name__)


class ValtListingError(RuntimeError):
    """The recordings list cannot be walked (it ignores ``offset``, or never ends)."""


def start_date_for(max_created_s: int, overlap_days: int) -> str:
    """``MM-DD-YYYY`` (UTC) of ``max_created_s`` minus ``overlap_days`` days."""
    day = datetime.fromtimestamp(max_created_s - overlap_days * 86_400, tz=UTC)
    return day.strftime("%m-%d-%Y")


class RecordingListing:
    """The listing half of :class:`~connector.valt.sync.ValtSync`."""

    def listing_kind(self: ValtSync, now: int) -> tuple[str, str | None]:
        """(mode, why a sweep) for a new listing at ``now``."""
        st, opts = self.state, self.options
        if st.last_sweep_ms is None or st.max_created_s is None:
            return "sweep", "first_run"
        if opts.full_refresh:
            return "sweep", "full_refresh"
        if now - st.last_sweep_ms >= opts.sweep_every_hours * HOUR_MS:
            return "sweep", "scheduled"
        return "incremental", None

    async def begin_listing(self: ValtSync, now: int) -> None:
        mode, reason = self.listing_kind(now)
        start_date = None
        if mode == "incremental":
            assert self.state.max_created_s is not None
            start_date = start_date_for(self.state.max_created_s, self.options.date_overlap_days)
        self.state.listing = {
            "mode": mode,
            "reason": reason,
            "start_date": start_date,
            "next_offset": 0,
            "tail": [],
            "page_len": None,
            "started_ms": now,
        }
        state = copy.deepcopy(self.state.to_dict())
        write = store.clear_seen if mode == "sweep" else None
        await self.scaffold.checkpoints.submit(write, state, note=f"{mode} listing starts")

    async def list_recordings(self: ValtSync) -> None:
        """Walk the list from the state's ``next_offset`` to its end (module doc)."""
        opts, listing = self.options, self.state.listing
        assert listing is not None
        self.report.listing = listing["mode"]
        self.report.start_date = listing["start_date"]
        overlap = opts.list_overlap
        offset = int(listing["next_offset"])
        tail = listing["tail"] or None
        page_len = listing["page_len"] or opts.list_page_size
        confirmed = listing["page_len"] is not None
        previous: list[str] | None = None
        ahead: dict[int, asyncio.Task] = {}  # pages requested before their turn, by offset
        prefetch = confirmed  # after a full page of the known length (not a guessed cap)
        window = max(1, min(opts.list_concurrency, opts.details_concurrency))  # vendor's limit
        try:
            for _ in range(opts.max_list_pages):
                task = ahead.pop(offset, None) or asyncio.create_task(self.list_page(offset))
                if prefetch:  # the stride is known: keep a window of the next pages in flight
                    for k in range(1, window):
                        at = offset + k * (page_len - overlap)
                        if at not in ahead:
                            ahead[at] = asyncio.create_task(self.list_page(at))
                records = await task
                ids = self.take_listed(records)
                if tail and set(tail).isdisjoint(ids):
                    await self.look_back(offset, set(tail), page_len)
                if ids and ids == previous:
                    raise ValtListingError(
                        f"VALT records list: offset {offset} served the same page as the offset "
                        "before it (the server ignores offset); the listing cannot end"
                    )
                n = len(records)
                if n >= page_len:
                    confirmed = prefetch = True  # the server serves what is asked
                elif overlap < n and not confirmed:
                    page_len, confirmed = n, True  # the end, or the server's cap: one more page
                else:
                    return
                previous, tail = ids, ids[-overlap:]
                offset += n - overlap
                for stale in [at for at in ahead if at < offset]:
                    ahead.pop(stale).cancel()
                listing.update(
                    next_offset=offset, tail=tail, page_len=page_len if confirmed else None
                )
                if self.listing_batch.size >= opts.checkpoint_rows:
                    await self.checkpoint_listing()
        except BaseException:
            for task in ahead.values():
                task.cancel()
            raise
        finally:
            # pages asked for past the end are let finish (a cancelled request would still
            # be in flight at the server while the details start: more than the vendor's
            # limit at once); their answers are not used
            if ahead:
                await asyncio.gather(*ahead.values(), return_exceptions=True)
        raise ValtListingError(
            f"VALT records list: more than {opts.max_list_pages} pages; stopped (max_list_pages)"
        )

    async def list_page(self: ValtSync, offset: int) -> list[Any]:
        listing = self.state.listing
        assert listing is not None
        records = await self.client.list_page(
            offset, self.options.list_page_size, listing["start_date"]
        )
        self.report.list_pages += 1
        return records

    async def look_back(self: ValtSync, offset: int, tail: set[str], page_len: int) -> None:
        """Read the pages before ``offset`` until one meets ``tail`` (deletions shifted the
        list left between two pages)."""
        for back in range(1, self.options.list_max_look_back + 1):
            start = max(0, offset - back * page_len)
            ids = self.take_listed(await self.list_page(start))
            self.report.list_look_backs += 1
            if start == 0 or not tail.isdisjoint(ids):
                return
        log.warning(
            "valt records list shifted by more than %d recordings during the listing "
            "(deletions); the ones it skipped are found by the next listing",
            self.options.list_max_look_back * page_len,
        )

    def take_listed(self: ValtSync, records: list[Any]) -> list[str]:
        """Add a page's entries to the listing batch; returns their ids in page order."""
        ids: list[str] = []
        batch, state = self.listing_batch, self.state
        for record in records:
            try:
                record_id, digest, created_s = listed_entry(record)
            except ValueError as exc:
                batch.reject(RECORDINGS_STREAM, None, f"list entry: {exc}", record)
                continue
            ids.append(record_id)
            batch.listed[record_id] = digest
            if created_s is not None and (
                state.max_created_s is None or created_s > state.max_created_s
            ):
                state.max_created_s = created_s
        self.report.listed += len(records)
        return ids

    async def checkpoint_listing(self: ValtSync, *, complete: bool = False) -> None:
        """Commit the pages read so far with the state; ``complete``: the listing is over
        (a sweep is reconciled in the same transaction)."""
        listing = self.state.listing
        assert listing is not None
        batch = self.listing_batch
        self.listing_batch = store.ListingBatch(sweep=listing["mode"] == "sweep")
        sweep_done = complete and listing["mode"] == "sweep"
        if complete:
            if sweep_done:
                self.state.last_sweep_ms = int(listing["started_ms"])
            self.state.listing = None
        state = copy.deepcopy(self.state.to_dict())
        ts = utc_from_ms(self.now)

        def write(tx: Any) -> None:
            self.report.due_from_listing += store.write_listing(tx, batch, self.report, ts)
            if sweep_done:
                self.report.unlisted += store.finish_sweep(tx, ts)

        note = f"{len(batch.listed)} listed, offset {listing['next_offset']}"
        await self.scaffold.checkpoints.submit(write, state, note=note + (" (done)" * complete))
