"""The scaffold of one sync run, the same for every source.

:class:`SyncRun` does what every source needs around its own walk: removes lake files a
crashed run left behind, times the run, drains the checkpoint in flight when the walk fails,
copies the request metrics into the report, records the run in ``meta.runs`` (never hiding
the run's own error) and, on failure, attaches a one-screen summary to the exception
(:func:`connector.kit.failure.describe_failure` prints it).

>>> run = SyncRun("uplynk", warehouse, report, lake_streams=("uplynk_assets",),
...               metrics=lambda: client.metrics, redact=client.redactor.redact)  # doctest: +SKIP
>>> await run.run(walk)  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from connector.http import RequestMetrics
from connector.kit.checkpoint import Checkpointer
from connector.kit.failure import attach_summary
from connector.kit.progress import ProgressLine
from connector.kit.report import SyncReport
from connector.timeutil import now_ms, utc_from_ms
from connector.warehouse import RunRecord, Warehouse

log = logging.getLogger(__name__)


class SyncRun:
    """One run of one stream: its checkpointer, report and run log."""

    def __init__(
        self,
        stream: str,
        warehouse: Warehouse,
        report: SyncReport,
        *,
        lake_streams: Sequence[str],
        metrics: Callable[[], RequestMetrics],
        redact: Callable[[str], str],
        cursor: Callable[[dict[str, Any]], Any] | None = None,
    ) -> None:
        self.stream = stream
        self.warehouse = warehouse
        self.report = report
        self.lake_streams = tuple(lake_streams)
        self.checkpoints = Checkpointer(warehouse, stream, report)
        self._metrics = metrics
        self._redact = redact
        self._cursor = cursor

    def load_state(self) -> dict[str, Any] | None:
        """The stream's committed state; its cursor becomes the report's ``cursor_before``."""
        state = self.warehouse.get_state(self.stream)
        if self._cursor is not None:
            self.report.cursor_before = self.report.cursor_after = (
                None if state is None else self._cursor(state)
            )
        return state

    async def run(self, walk: Callable[[], Awaitable[None]]) -> SyncReport:
        """Run ``walk`` inside the scaffold; returns the report or raises walk's error."""
        started, started_at = time.monotonic(), now_ms()
        error: BaseException | None = None
        try:
            self.recover_lake()
            async with ProgressLine(self.stream, self.report, self._metrics):
                await walk()
            await self.checkpoints.drain()
        except BaseException as exc:
            error = exc
            with contextlib.suppress(BaseException):
                await self.checkpoints.drain()  # a commit in flight finishes or fails alone
            raise
        finally:
            self.finish(started, started_at, error)
        return self.report

    def recover_lake(self) -> None:
        removed = [p for s in self.lake_streams for p in self.warehouse.recover_lake(s)]
        if removed:
            log.warning("removed %d orphaned lake files from a crashed run", len(removed))

    def finish(self, started: float, started_at: int, error: BaseException | None) -> None:
        report = self.report
        report.elapsed_s = round(time.monotonic() - started, 3)
        report.checkpoints = self.checkpoints.committed
        committed = self.checkpoints.last_state
        if self._cursor is not None and committed is not None:
            report.cursor_after = self._cursor(committed)  # committed, never just fetched
        report.take_metrics(self._metrics())
        report.status = "ok" if error is None else "failed"
        message = None
        if error is not None:
            message = self._redact(f"{type(error).__name__}: {error}")
            if isinstance(error, Exception):
                attach_summary(error, self.stream, report, message)
        self.warehouse.log_run(
            RunRecord(
                run_id=report.run_id,
                stream=self.stream,
                started_at=utc_from_ms(started_at),
                finished_at=utc_from_ms(now_ms()),
                status=report.status,
                rows_inserted=report.inserted,
                rows_updated=report.updated,
                rows_deleted=report.deleted,
                rows_rejected=report.rejected,
                cursor_before=report.cursor_before,
                cursor_after=report.cursor_after,
                requests=report.requests,
                retries=report.retries,
                error=message,
            ),
            self._redact,
        )
