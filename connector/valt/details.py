"""Policy-selected details reads into ``raw.valt_recordings`` and ``raw.valt_videos``.

:func:`connector.valt.policy.plan_details` picks the recordings (due, horizon, rolling);
their details are fetched concurrently (bounded) and committed every ``checkpoint_rows`` by
the kit's checkpointer, in a worker thread, so requests keep flowing while DuckDB writes.
A 200 upserts the recording and its videos and stamps ``details_checked_at``; a 404 (VALT's
RFC 7807 body) marks a stored recording removed; a details object that does not fit is a
reject (the stored row keeps its last good state). A recording whose request fails stays
due, and the run fails at the end naming it, after the others are committed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from connector.kit.progress import expect_more
from connector.timeutil import utc_from_ms
from connector.valt import store
from connector.valt.normalize import RECORDINGS_STREAM, VIDEOS_STREAM, details_rows
from connector.valt.policy import Candidate, DetailsPlan, DetailsPolicy, plan_details
from connector.warehouse import WriteTx

if TYPE_CHECKING:
    from connector.valt.sync import ValtSync

log = logging.getLogger(__name__)


class ValtDetailsError(RuntimeError):
    """The details of some recordings could not be read; the others were committed."""


class DetailsChecks:
    """The details half of :class:`~connector.valt.sync.ValtSync`."""

    def plan(self: ValtSync, now: int) -> DetailsPlan:
        opts = self.options
        policy = DetailsPolicy(
            staleness_days=opts.staleness_days,
            run_interval_hours=opts.run_interval_hours,
            horizon_days=opts.retention_horizon_days,
        )
        rows = self.warehouse.query(store.sql("details_candidates"))
        plan = plan_details((Candidate(*row) for row in rows), now, policy)
        report = self.report
        report.details_selected = len(plan)
        expect_more(report, len(plan))  # one raw.valt_recordings row per detail: an ETA
        report.details_by_reason = {r: n for r, n in plan.counts.items() if n}
        report.rolling_quota = plan.quota
        log.info(
            "valt details: reading %d (%s; rolling %d of %d, quota %d, overdue %d)",
            len(plan),
            ", ".join(f"{r} {n}" for r, n in plan.counts.items()),
            plan.counts["rolling"],
            plan.rest,
            plan.quota,
            plan.overdue,
        )
        return plan

    async def check_details(self: ValtSync, now: int) -> None:
        await self.scaffold.checkpoints.drain()  # the plan reads what the listing committed
        plan = self.plan(now)
        batch = store.DetailsBatch()
        stream = self.client.details_many(plan.record_ids, self.options.details_concurrency)
        async for record_id, result in stream:
            self.take_details(batch, record_id, result)
            if len(batch.done) >= self.options.checkpoint_rows:
                await self._submit_details(batch)
                batch = store.DetailsBatch()
        await self._submit_details(batch)
        await self.scaffold.checkpoints.drain()

    def take_details(
        self: ValtSync, batch: store.DetailsBatch, record_id: str, result: object
    ) -> None:
        """One details answer into ``batch``: rows, a 404, a reject, or a failure noted."""
        report = self.report
        if isinstance(result, Exception):
            why = self.client.redactor.redact(f"{type(result).__name__}: {result}")
            report.details_failed[record_id] = why
            log.warning("valt details of %s failed, the others go on: %s", record_id, why)
            return
        batch.done.append(record_id)
        if result is None:
            report.details_not_found += 1
            batch.gone.append(record_id)
            return
        report.details_fetched += 1
        try:
            row, videos = details_rows(record_id, result)
        except ValueError as exc:
            batch.reject(RECORDINGS_STREAM, record_id, f"details: {exc}", result)
            return
        batch.add(RECORDINGS_STREAM, [row])
        batch.add(VIDEOS_STREAM, videos)
        batch.checked.append(record_id)

    async def _submit_details(self: ValtSync, batch: store.DetailsBatch) -> None:
        if not batch.done:
            return
        ts = utc_from_ms(self.now)

        def write(tx: WriteTx) -> None:
            removed = store.write_details(tx, batch, self.report, ts)
            self.report.recordings_removed += removed
            self.report.deleted += removed

        note = f"{len(batch.checked)} details, {len(batch.gone)} not found"
        await self.scaffold.checkpoints.submit(write, note=note)

    def raise_if_failed(self: ValtSync) -> None:
        failed = self.report.details_failed
        if failed:
            shown = "; ".join(f"{rid}: {why}" for rid, why in list(failed.items())[:5])
            more = f" (and {len(failed) - 5} more)" if len(failed) > 5 else ""
            raise ValtDetailsError(
                f"the details of {len(failed)} VALT recording(s) could not be read ({shown}"
                f"{more}); they stay due for the next run, the other "
                f"{self.report.details_fetched + self.report.details_not_found} were committed"
            )
