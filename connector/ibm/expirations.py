"""Policy-selected expiration checks into ``raw.ibm_expirations`` and its history.

:func:`connector.ibm.policy.plan_refresh` picks the videos to check (new, within the
horizon, a rolling share of the rest). They are fetched concurrently on the fast transport,
paced by the rate limiter, and committed every ``checkpoint_rows`` results by the kit's
checkpointer (in a worker thread, so requests keep flowing while DuckDB writes). Each commit
appends to ``raw.ibm_expiration_history`` a row for every video whose rule / expires_at /
check_status differs from the stored one, then upserts ``raw.ibm_expirations``.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from connector.ibm import store
from connector.ibm.client import Expiration
from connector.ibm.normalize import EXPIRATIONS_STREAM, expiration_row
from connector.ibm.policy import plan_refresh
from connector.kit import Batch
from connector.kit.progress import expect_more
from connector.warehouse import WriteTx

if TYPE_CHECKING:
    from connector.ibm.sync import IbmSync

log = logging.getLogger(__name__)


class ExpirationChecks:
    """The expiration half of :class:`~connector.ibm.sync.IbmSync`."""

    async def check_expirations(self: IbmSync, now: int) -> None:
        opts, report = self.options, self.report
        candidates = self.warehouse.query_arrow(store.sql("refresh_candidates"))
        plan = plan_refresh(candidates, now, opts.policy)
        self.plan = plan
        report.selected = len(plan)
        expect_more(report, len(plan))  # one raw.ibm_expirations row per check: an ETA
        report.checked_by_reason = dict(plan.counts)
        report.rolling_quota = plan.quota
        log.info(
            "ibm expirations: checking %d (new %d, horizon %d, rolling %d of %d; quota %d, due %d)",
            len(plan),
            plan.counts["new"],
            plan.counts["horizon"],
            plan.counts["rolling"],
            plan.rest,
            plan.quota,
            plan.due,
        )
        if not plan.video_ids:
            return
        metrics = self.client.expiration_metrics
        req0, r429_0 = metrics.requests, metrics.responses_429
        t0 = time.monotonic()
        batch = store.expirations_batch([])
        try:
            async for item in self.client.expirations(plan.video_ids, opts.concurrency):
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
            report.expiration_elapsed_s = round(time.monotonic() - t0, 3)
        report.expiration_requests = metrics.requests - req0
        report.expiration_429 = metrics.responses_429 - r429_0
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
