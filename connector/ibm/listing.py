"""Channel listings into ``raw.ibm_videos``.

Each channel in ``IBM_VIDEO_CHANNEL_IDS`` is paged to the end (``paging.next`` decides).
Rows are upserted in batches with their rejects; every listed id, a record that failed
validation included (it keeps its last good state; it is not missing), is stamped
``last_seen_at`` (``first_seen_at`` once), has ``removed_at`` cleared and goes into
``meta.ibm_listing_seen``. Only after a channel's listing is COMPLETE are its stored videos
that it did not return marked ``missing_since``, and those a second consecutive complete
listing also lacks marked ``removed_at``; a failed listing marks nothing. A channel that
fails does not stop the others: they finish and commit, and the run then fails naming it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from connector.http import AuthenticationError
from connector.ibm import store
from connector.ibm.normalize import VIDEOS_STREAM, normalize_videos
from connector.ibm.token import IbmAuthError
from connector.kit import Batch, write_batch
from connector.timeutil import utc_from_ms
from connector.warehouse import WriteTx

if TYPE_CHECKING:
    from connector.ibm.sync import IbmSync

log = logging.getLogger(__name__)


class ChannelListingError(RuntimeError):
    """One or more channels could not be listed; the others were synced."""


def listed_ids(records: list[Any]) -> list[str]:
    """Ids of the records a page showed, valid or not (ids are strings in IBM's API)."""
    ids = (r.get("id") for r in records if isinstance(r, dict))
    return [i for i in ids if isinstance(i, str) and i]


class ChannelListing:
    """The listing half of :class:`~connector.ibm.sync.IbmSync`."""

    async def list_channels(self: IbmSync, now: int) -> None:
        """Every channel, ``channel_concurrency`` at a time (each channel's pages follow
        ``paging.next`` one after another, so channels are what can overlap)."""
        channels = self.client.settings.channel_ids
        failed: dict[str, str] = {}
        gate = asyncio.Semaphore(max(1, self.options.channel_concurrency))

        async def one(channel: str) -> None:
            async with gate:
                try:
                    await self.list_channel(channel, now)
                except (IbmAuthError, AuthenticationError):
                    raise  # credentials are every channel's problem: stop at once
                except Exception as exc:  # one channel's failure must not stop the others
                    await self.scaffold.checkpoints.drain()
                    failed[channel] = self.client.redactor.redact(f"{type(exc).__name__}: {exc}")
                    log.error(
                        "ibm channel %s failed, the others go on: %s", channel, failed[channel]
                    )

        tasks = [asyncio.create_task(one(c)) for c in channels]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        self.report.channels_failed = {c: failed[c] for c in channels if c in failed}

    async def list_channel(self: IbmSync, channel: str, now: int) -> None:
        """Page one channel (its checkpoints queue with other channels' in the checkpointer)."""
        checkpoints = self.scaffold.checkpoints
        await checkpoints.submit(lambda tx: store.clear_listing_seen(tx, channel))
        batch, seen = Batch([store.VIDEOS]), []
        async for page in self.client.channel_pages(channel, self.options.pagesize):
            self.report.pages += 1
            rows, rejects = normalize_videos(page, channel)
            self.queue_new_videos([row[0] for row in rows])
            batch.add(VIDEOS_STREAM, rows)
            batch.add_rejects(VIDEOS_STREAM, rejects)
            seen += listed_ids(page)
            if batch.size >= self.options.checkpoint_rows:
                await self._submit_videos(channel, batch, seen, now)
                batch, seen = Batch([store.VIDEOS]), []
        await self._submit_videos(channel, batch, seen, now, complete=True)
        await checkpoints.drain()
        self.report.channels += 1

    async def _submit_videos(
        self: IbmSync,
        channel: str,
        batch: Batch,
        seen: list[str],
        now: int,
        complete: bool = False,
    ) -> None:
        def write(tx: WriteTx) -> None:
            self._write_videos(tx, channel, batch, seen, now, complete)

        done = " (listing complete)" if complete else ""
        note = f"channel {channel}: {batch.size} videos{done}"
        await self.scaffold.checkpoints.submit(write, note=note)

    def _write_videos(
        self: IbmSync,
        tx: WriteTx,
        channel: str,
        batch: Batch,
        seen: list[str],
        now: int,
        complete: bool,
    ) -> None:
        report, ts = self.report, utc_from_ms(now)
        counts = write_batch(tx, batch, report)
        if VIDEOS_STREAM in counts:
            report.videos_inserted += counts[VIDEOS_STREAM].inserted
            report.videos_updated += counts[VIDEOS_STREAM].updated
        report.videos_listed += batch.rows[VIDEOS_STREAM].count
        if seen:
            report.videos_returned += store.mark_listed(tx, channel, seen, ts)
        if complete:
            removed, missing = store.finish_listing(tx, channel, ts)
            report.videos_removed += removed
            report.videos_missing += missing
            report.deleted += removed
