"""`python -m connector status`: cursor, last run, staleness, per stream."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

from connector.status import format_status, stream_status
from tests.uplynk_helpers import new_warehouse, run_uplynk


def test_status_shows_the_committed_cursor_the_last_run_and_staleness(fresh_sandbox, tmp_path):
    wh = new_warehouse(tmp_path)
    report = run_uplynk(fresh_sandbox, wh)
    (status,) = stream_status(wh)
    assert status.stream == "uplynk" and status.last_status == "ok"
    assert status.cursor == report.cursor_after
    assert status.rows["inserted"] == report.inserted
    assert not status.stale
    later = datetime.now(UTC) + timedelta(hours=2)  # past the 1 h budget of a 15-min schedule
    assert stream_status(wh, now=later)[0].stale
    assert "STALE" in format_status(stream_status(wh, now=later), now=later)


def test_status_of_a_failed_run_names_its_error(fresh_sandbox, tmp_path):
    wh = new_warehouse(tmp_path)
    run_uplynk(fresh_sandbox, wh)
    fresh_sandbox.defects(vendor="uplynk", path="/api2/asset/changes", kind="html_200", times=None)
    with contextlib.suppress(Exception):
        run_uplynk(fresh_sandbox, wh)
    (status,) = stream_status(wh)
    assert status.last_status == "failed" and status.last_ok_at is not None
    text = format_status([status])
    assert "last error" in text and "asset/changes" in text
