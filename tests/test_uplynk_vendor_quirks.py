"""Uplynk as the vendor may really behave (VENDOR_APIS: "what the samples never show"),
over loopback against the sandbox's switches. Each test names the quirk; each was seen to
fail with the connector's handling of it removed (see tests/README.md)."""

from __future__ import annotations

import duckdb

from connector.timeutil import now_ms
from tests.uplynk_helpers import (
    assert_matches_sandbox,
    new_warehouse,
    run_uplynk,
    stored_changes,
    warehouse_rows,
)

HOUR = 3600


def test_cursor_is_the_vendors_end_when_its_clock_is_hours_behind(fresh_sandbox, tmp_path):
    fresh_sandbox.reset(assets=2000, uplynk_clock_offset_s=-7 * HOUR)
    wh = new_warehouse(tmp_path)
    first = run_uplynk(fresh_sandbox, wh)
    # the first walk starts at (local now - 10 min); the vendor's end is ~7 h below it
    assert first.cursor_after < now_ms() - 2 * HOUR * 1000
    churn = fresh_sandbox.advance(seconds=600, creates=30, updates=80, deletes=25)
    second = run_uplynk(fresh_sandbox, wh)
    # 10 vendor minutes passed: measured on our clock the cursor would look 7 h old
    assert second.reconciled is None
    assert second.changes >= 135
    assert second.cursor_after >= churn["uplynk_to_ms"] - 1
    assert_matches_sandbox(fresh_sandbox, wh)


def test_cursor_age_is_measured_on_the_vendors_clock_when_it_is_hours_ahead(
    fresh_sandbox, tmp_path
):
    fresh_sandbox.reset(assets=2000, uplynk_clock_offset_s=3 * HOUR)
    wh = new_warehouse(tmp_path)
    run_uplynk(fresh_sandbox, wh)
    fresh_sandbox.advance(seconds=600, creates=20, updates=60, deletes=15)
    second = run_uplynk(fresh_sandbox, wh)
    # 10 vendor minutes passed: no stale-cursor listing, although the vendor's clock is
    # hours ahead of ours
    assert second.reconciled is None
    assert_matches_sandbox(fresh_sandbox, wh)


def test_a_burst_larger_than_a_page_is_reconciled_and_passed(fresh_sandbox, tmp_path):
    wh = new_warehouse(tmp_path)
    run_uplynk(fresh_sandbox, wh)
    burst = fresh_sandbox.uplynk_burst(deletes=700)  # the feed pages 500 changes
    assert burst["changes"] == 700
    report = run_uplynk(fresh_sandbox, wh)
    assert report.bursts >= 1
    assert report.reconciled == "burst"
    _, dead = warehouse_rows(wh)
    assert set(burst["deleted_ids"]) <= set(dead), "deletes beyond the first page were lost"
    assert report.cursor_after > burst["uplynk_ts_ms"], "the cursor did not move past the burst"
    # the feed goes on after the burst
    fresh_sandbox.advance(seconds=60, updates=40, deletes=10)
    after = run_uplynk(fresh_sandbox, wh)
    assert after.reconciled is None and after.changes >= 50
    assert_matches_sandbox(fresh_sandbox, wh)


def test_an_asset_get_error_for_a_batch_is_narrowed_down_not_fatal(fresh_sandbox, tmp_path):
    fresh_sandbox.reset(assets=2000, get_unknown="error")
    wh = new_warehouse(tmp_path)
    run_uplynk(fresh_sandbox, wh)
    # deletions the feed forgets: the reconciliation re-checks unlisted assets with asset/get,
    # and every batch holding one deleted id is answered with an error
    fresh_sandbox.advance(seconds=HOUR, deletes=40)
    fresh_sandbox.advance(seconds=6 * HOUR, updates=30)
    fresh_sandbox.uplynk_reset_stats()
    report = run_uplynk(fresh_sandbox, wh)
    assert report.reconciled == "stale_cursor"
    errors = fresh_sandbox.uplynk_stats()["get_error_batches"]
    assert errors > 0, "the path was not exercised"
    assert report.get_batch_errors >= 1
    assert report.get_absent >= 40  # the 40 deletions the feed forgot, found by narrowing
    assert_matches_sandbox(fresh_sandbox, wh)


def test_create_actions_are_changes_to_fetch_not_rejects(fresh_sandbox, tmp_path):
    fresh_sandbox.reset(assets=2000, create_action=True)
    wh = new_warehouse(tmp_path)
    run_uplynk(fresh_sandbox, wh)
    fresh_sandbox.advance(seconds=600, creates=60, updates=20)
    report = run_uplynk(fresh_sandbox, wh)
    assert report.rejected == 0
    assert sum(1 for _, action, _ in stored_changes(wh) if action == "create") >= 60
    assert_matches_sandbox(fresh_sandbox, wh)


def test_numbers_sent_as_numeric_strings_are_read_as_numbers(fresh_sandbox, tmp_path):
    fresh_sandbox.reset(assets=2000, numbers_as_strings=0.2)
    stringly = sum(1 for r in fresh_sandbox.expected_uplynk() if r.get("served_as_strings"))
    assert stringly > 200, "the sandbox served no strings: the test proves nothing"
    wh = new_warehouse(tmp_path)
    report = run_uplynk(fresh_sandbox, wh)
    assert report.rejected == 0
    assert_matches_sandbox(fresh_sandbox, wh)
    with duckdb.connect(str(wh.path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM meta.rejects").fetchone()[0] == 0
