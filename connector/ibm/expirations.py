"""Policy-selected expiration checks into ``raw.ibm_expirations`` and its history.

:func:`connector.ibm.policy.plan_refresh` picks the videos to check (new, within the
horizon, a rolling share of the rest). The policy checks every new video, so those are
checked while the channels are still being listed (:meth:`ExpirationChecks.check_new_videos`,
fed as pages arrive); the plan made after the listing leaves them out. They are fetched
concurrently on the fast transport, paced by the rate limiter, and committed every
``checkpoint_rows`` results by the kit's checkpointer (in a worker thread, so requests keep
flowing while DuckDB writes). Each commit appends to ``raw.ibm_expiration_history`` a row
for every video whose rule / expires_at / check_status differs from the stored one, then
upserts ``raw.ibm_expirations``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from connector.ibm import store
from connector.ibm.client import Expiration
from connector.ibm.normalize import EXPIRATIONS_STREAM, expiration_row
from connector.ibm.policy import plan_refresh
from connector.kit import Batch
from connector.kit.beside import walk_beside
from connector.kit.progress import expect_more
from connector.warehouse import WriteTx

if TYPE_CHECKING:
    from connector.ibm.sync import IbmSync

log = logging.getLogger(__name__)


class ExpirationChecks:
    """The expiration half of :class:`~connector.ibm.sync.IbmSync`."""

    async def list_and_check(self: IbmSync, now: int) -> None:
        """List the channels while checking the new videos they show, then check what
        the policy picks among the rest."""
        self.known_expirations = {
            r[0] for r in self.warehouse.query("SELECT video_id FROM raw.ibm_expirations")
        }
        self.new_videos = queue = asyncio.Queue()
        try:
            await walk_beside(self.list_channels(now), self.check_new_videos(now), queue, "ibm")
        finally:
            self.new_videos = None
        await self.check_expirations(now)

    def queue_new_videos(self: IbmSync, video_ids: Sequence[str]) -> None:
        """Listed videos never checked before go to the checks running beside the listing."""
        if self.new_videos is None:
            return
        for vid in video_ids:
            if vid not in self.known_expirations and vid not in self.checked_early:
                self.checked_early.add(vid)
                self.new_videos.put_nowait(vid)

    async def check_new_videos(self: IbmSync, now: int) -> None:
        assert self.new_videos is not None
        opts = self.options
        # the listing's requests take their slots from the same `concurrency` (IbmClient):
        # a page waits a few ms for one, and the checks use every slot once it is done
        await self._check(self.client.expirations(self.new_videos, opts.concurrency), now)
        self.report.checked_by_reason["new"] = len(self.checked_early)
        self.report.selected += len(self.checked_early)

    async def check_expirations(self: IbmSync, now: int) -> None:
        opts, report = self.options, self.report
        candidates = self.warehouse.query_arrow(store.sql("refresh_candidates"))
        if self.checked_early:  # already checked in this run, beside the listing
            early = pa.array(sorted(self.checked_early), pa.string())
            candidates = candidates.filter(
                pc.invert(pc.is_in(candidates.column("video_id"), value_set=early))
            )
        plan = plan_refresh(candidates, now, opts.policy)
        self.plan = plan
        report.selected += len(plan)
        expect_more(report, len(plan))  # one raw.ibm_expirations row per check: an ETA
        for reason, count in plan.counts.items():
            report.checked_by_reason[reason] = report.checked_by_reason.get(reason, 0) + count
        report.rolling_quota = plan.quota
        log.info(
            "ibm expirations: checking %d (new %d, horizon %d, rolling %d of %d; quota %d, due %d)"
            "; %d new ones checked during the listing",
            len(plan),
            plan.counts["new"],
            plan.counts["horizon"],
            plan.counts["rolling"],
            plan.rest,
            plan.quota,
            plan.due,
            len(self.checked_early),
        )
        if plan.video_ids:
            await self._check(self.client.expirations(plan.video_ids, opts.concurrency), now)

    async def _check(self: IbmSync, items: AsyncIterator[Any], now: int) -> None:
        """Store the expirations ``items`` yields, committing every ``checkpoint_rows``."""
        opts, report = self.options, self.report
        metrics = self.client.expiration_metrics
        req0, r429_0 = metrics.requests, metrics.responses_429
        t0 = time.monotonic()
        batch = store.expirations_batch([])
        try:
            async for item in items:
                if isinstance(item, Expiration):
                    batch.add(EXPIRATIONS_STREAM, [expiration_row(item, now)])
                    by_status = report.checked_by_status
                    by_status[item.status] = by_status.get(item.status, 0) + 1
                else:
                    vid, exc = item
                    batch.reject(EXPIRATIONS_STREAM, vid, f"expiration: {exc}", {"video_id": vid})
                if batch.size >= opts.checkpoint_rows:
                    await self._submit_expirations(batch)
                    batch = store.expirations_batch([])
            await self._submit_expirations(batch)
        finally:
            await self.scaffold.checkpoints.drain()
            report.expiration_elapsed_s += round(time.monotonic() - t0, 3)
        report.expiration_requests += metrics.requests - req0
        report.expiration_429 += metrics.responses_429 - r429_0
        if report.expiration_elapsed_s > 0:
            report.requests_per_s = round(
                report.expiration_requests / report.expiration_elapsed_s, 1
            )

    async def _submit_expirations(self: IbmSync, batch: Batch) -> None:
        if not batch.size:
            return

        def write(tx: WriteTx) -> None:
            self.report.expiration_changes += store.write_expirations(
                tx, batch, self.report, "sync"
            )
            self.report.expirations_checked += batch.rows[EXPIRATIONS_STREAM].count

        await self.scaffold.checkpoints.submit(write, note=f"{batch.size} expirations")
