"""A progress line on a terminal for long runs: pages, rows, rate, and an ETA when the
source knows its total. Quiet when stderr is not a terminal (logs, Dagster, cron), or when
``CONNECTOR_PROGRESS=0``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from typing import Any, TextIO


def wanted(stream: TextIO | None = None) -> bool:
    """A progress line is shown only to a person at a terminal."""
    stream = stream or sys.stderr
    if os.environ.get("CONNECTOR_PROGRESS", "").strip() == "0":
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def rows_done(report: Any) -> int:
    return report.inserted + report.updated + report.unchanged + report.deleted


def expect_more(report: Any, rows: int) -> None:
    """The run now knows it has ``rows`` more rows to go (IBM: the expirations the policy
    selected; VALT: the details it will read): the progress line shows an ETA from then on.
    The Uplynk feed and listings, and VALT's listing, announce no total: no ETA there."""
    report.expected_rows = rows_done(report) + max(0, int(rows))


def progress_text(name: str, report: Any, elapsed_s: float) -> str:
    """``uplynk: 123,456 rows, 1,240 requests, 8,210 rows/s, ETA 0:42`` from a report."""
    rows = rows_done(report)
    rate = rows / elapsed_s if elapsed_s > 0 else 0.0
    text = f"{name}: {rows:,} rows, {report.requests:,} requests, {rate:,.0f} rows/s"
    total = getattr(report, "expected_rows", None)
    if total and rate > 0 and total > rows:
        left = int((total - rows) / rate)
        text += f", ETA {left // 60}:{left % 60:02d}"
    return text


class ProgressLine:
    """Redraws one line every ``interval_s`` while the run goes on; clears it at the end."""

    def __init__(self, name: str, report: Any, metrics: Any, stream: TextIO | None = None) -> None:
        self.name, self.report, self.metrics = name, report, metrics
        self.stream = stream or sys.stderr
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> ProgressLine:
        if wanted(self.stream):
            self._task = asyncio.create_task(self._draw())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self.stream.write("\r\x1b[2K")
            self.stream.flush()

    async def _draw(self, interval_s: float = 0.5) -> None:
        started = time.monotonic()
        while True:
            await asyncio.sleep(interval_s)
            self.report.take_metrics(self.metrics())
            line = progress_text(self.name, self.report, time.monotonic() - started)
            self.stream.write("\r\x1b[2K" + line)
            self.stream.flush()
