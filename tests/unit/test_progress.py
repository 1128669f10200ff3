"""The progress line: shown to a person at a terminal, never in logs."""

from __future__ import annotations

import asyncio
import io

from connector.http import RequestMetrics
from connector.kit import SyncReport
from connector.kit.progress import ProgressLine, progress_text, wanted


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_progress_line_when_stderr_is_not_a_terminal(monkeypatch):
    monkeypatch.delenv("CONNECTOR_PROGRESS", raising=False)
    assert not wanted(io.StringIO())
    assert wanted(Tty())
    monkeypatch.setenv("CONNECTOR_PROGRESS", "0")
    assert not wanted(Tty())


def test_progress_text_shows_rows_rate_and_an_eta_when_the_total_is_known():
    report = SyncReport("r", inserted=600, updated=400, requests=12)
    assert progress_text("uplynk", report, 2.0) == "uplynk: 1,000 rows, 12 requests, 500 rows/s"
    report.expected_rows = 61_000  # type: ignore[attr-defined]
    assert progress_text("uplynk", report, 2.0).endswith("ETA 2:00")


def test_the_line_is_drawn_while_running_and_cleared_after(monkeypatch):
    monkeypatch.delenv("CONNECTOR_PROGRESS", raising=False)
    out, report = Tty(), SyncReport("r", inserted=5)

    async def go() -> None:
        async with ProgressLine("ibm", report, RequestMetrics, out):
            await asyncio.sleep(0.7)

    asyncio.run(go())
    text = out.getvalue()
    assert "ibm: 5 rows" in text and text.endswith("\r\x1b[2K")
