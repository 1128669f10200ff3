"""The VALT stream end to end, over real loopback HTTP against the sandbox.

Expected values are the sandbox's: its recordings as served (every column restated by hand
in tests/valt_helpers.py), what its churn returned, and what it counted. See
tests/README.md for the breakages each test was seen to catch.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import orjson
import pytest

from tests.uplynk_helpers import kill_after_checkpoints
from tests.valt_helpers import (
    DAY_MS,
    HOUR_MS,
    assert_matches_sandbox,
    cli,
    new_warehouse,
    restated_retention_until,
    rows,
    run_valt,
    sandbox_recordings,
    snapshot,
    stored_recordings,
)


def endpoint_requests(stats: dict, endpoint: str) -> int:
    return stats["requests"].get(endpoint, 0)


@pytest.mark.parametrize("id_style", ["uuid", "int"])
def test_first_sync_equals_the_sandbox_catalog(fresh_sandbox, tmp_path, id_style):
    fresh_sandbox.valt_config(id_style=id_style)
    wh = new_warehouse(tmp_path)
    now = fresh_sandbox.now_ms()
    report = run_valt(fresh_sandbox, wh, now_ms=now)
    live, _ = assert_matches_sandbox(
        fresh_sandbox,
        wh,
        stamps={"details_checked_at": now, "first_seen_at": now, "last_seen_at": now},
    )
    kinds = Counter(r["retention"]["type"] for r in live.values())
    assert set(kinds) == {"inherit", "infinitely", "until", "for"}, kinds
    assert all(rid.isdigit() for rid in live) == (id_style == "int")
    assert report.listing == "sweep" and report.sweep_reason == "first_run"
    assert report.details_fetched == len(live) == report.inserted
    stats = fresh_sandbox.valt_stats()
    assert endpoint_requests(stats, "details") == len(live)
    assert stats["logins"] == report.logins == 1  # one login, cached for the run


def test_list_pages_ahead_and_details_never_exceed_the_vendor_limit(fresh_sandbox, tmp_path):
    """At 100 ms per VALT answer, with pages of 20 and a limit of 6 in flight: the listing
    keeps pages ahead in flight but never more than the limit, not even while its last
    pages overlap the first details; the catalog is still exact."""
    fresh_sandbox.reset(seed=7, assets=600)
    fresh_sandbox.latency(valt=100)
    try:
        fresh_sandbox.reset_stats()
        wh = new_warehouse(tmp_path)
        now = fresh_sandbox.now_ms()
        report = run_valt(
            fresh_sandbox,
            wh,
            now_ms=now,
            list_page_size=20,
            list_concurrency=8,
            details_concurrency=6,
        )
        in_flight = fresh_sandbox.stats()["max_in_flight"]["valt"]
    finally:
        fresh_sandbox.clear_latency()
    assert report.list_pages > 4, "too few pages to need a window"
    assert in_flight == 6
    assert_matches_sandbox(
        fresh_sandbox,
        wh,
        stamps={"details_checked_at": now, "first_seen_at": now, "last_seen_at": now},
    )


def test_a_rerun_reads_only_what_the_policy_picks_and_changes_no_content(fresh_sandbox, tmp_path):
    wh = new_warehouse(tmp_path)
    now = fresh_sandbox.now_ms()
    run_valt(fresh_sandbox, wh, now_ms=now)
    before = snapshot(wh)
    fresh_sandbox.valt_reset_stats()
    report = run_valt(fresh_sandbox, wh, now_ms=now + HOUR_MS)
    assert report.listing == "incremental" and report.start_date is not None
    assert report.inserted == report.updated == 0
    assert set(report.details_by_reason) <= {"horizon", "rolling"}
    live, _ = sandbox_recordings(fresh_sandbox)
    later = now + HOUR_MS
    soon = [
        rid
        for rid, r in live.items()
        if (until := restated_retention_until(r)) is not None and abs(until - later) <= 7 * DAY_MS
    ]
    assert soon and report.details_by_reason["horizon"] == len(soon)
    assert 0 < report.details_fetched < len(live) / 2
    assert endpoint_requests(fresh_sandbox.valt_stats(), "details") == report.details_selected
    recs = stored_recordings(wh)
    assert all(r["first_seen_at"] == now for r in recs.values()), "first_seen_at moved"
    reread = {rid for rid, r in recs.items() if r["details_checked_at"] == later}
    assert len(reread) == report.details_fetched
    assert all(recs[rid]["last_seen_at"] == later for rid in reread)
    after = snapshot(wh)
    content = slice(0, 12)  # every column but the stamps
    assert [r[content] for r in after[0]] == [r[content] for r in before[0]]
    assert after[1] == before[1]


def test_an_incremental_run_lists_from_the_overlap_date_and_reads_new_recordings(
    fresh_sandbox, tmp_path
):
    wh = new_warehouse(tmp_path)
    now = fresh_sandbox.now_ms()
    run_valt(fresh_sandbox, wh, now_ms=now)
    max_created = max(r["created"] for r in sandbox_recordings(fresh_sandbox)[0].values())
    churn = fresh_sandbox.valt_churn(creates=12)
    report = run_valt(fresh_sandbox, wh, now_ms=now + HOUR_MS, date_overlap_days=2)
    want = datetime.fromtimestamp(max_created - 2 * 86_400, tz=UTC).strftime("%m-%d-%Y")
    assert report.listing == "incremental" and report.start_date == want
    assert report.details_by_reason.get("new") == 12
    assert set(churn["created"]) <= set(stored_recordings(wh))
    assert_matches_sandbox(fresh_sandbox, wh)


def test_deletions_are_found_by_a_complete_sweep_and_never_by_a_failed_one(fresh_sandbox, tmp_path):
    wh = new_warehouse(tmp_path)
    now = fresh_sandbox.now_ms()
    run_valt(fresh_sandbox, wh, now_ms=now)
    gone = fresh_sandbox.valt_churn(deletes=9, renames=4)
    # a sweep whose listing fails on its third page: nothing may be marked removed
    fresh_sandbox.defects(
        kind="error_envelope_200",
        vendor="valt",
        path="/valt/api/v3/records",
        method="POST",
        params={"body": {"error": {"code": 500, "message": "Internal error"}}},
    )
    with pytest.raises(Exception, match="error envelope"):
        run_valt(fresh_sandbox, wh, now_ms=now + 2 * HOUR_MS, full_refresh=True)
    removed = [r for r in stored_recordings(wh).values() if r["removed_at"] is not None]
    assert removed == [], "a failed sweep marked recordings removed"
    fresh_sandbox.clear_defects()
    later = now + 3 * HOUR_MS
    report = run_valt(fresh_sandbox, wh, now_ms=later, full_refresh=True, staleness_days=1000)
    assert report.listing == "sweep"
    assert report.unlisted == 9 and report.details_by_reason["unlisted"] == 9
    assert report.details_by_reason.get("changed") == 4  # the renames, seen in the list
    recs = stored_recordings(wh)
    assert {rid for rid, r in recs.items() if r["removed_at"] == later} == set(gone["deleted"])
    assert report.recordings_removed == report.deleted == 9
    assert_matches_sandbox(fresh_sandbox, wh)


def test_a_sweep_comes_every_sweep_every_hours(fresh_sandbox, tmp_path):
    wh = new_warehouse(tmp_path)
    now = fresh_sandbox.now_ms()
    run_valt(fresh_sandbox, wh, now_ms=now, sweep_every_hours=24)
    kinds = [
        run_valt(fresh_sandbox, wh, now_ms=now + h * HOUR_MS, sweep_every_hours=24).listing
        for h in (1, 23, 24, 25)
    ]
    assert kinds == ["incremental", "incremental", "sweep", "incremental"]


def test_a_retention_changed_in_details_only_is_picked_up_within_the_budget(
    fresh_sandbox, tmp_path
):
    """Hourly runs with a 12-hour staleness budget: the retention the sandbox changed (in
    the details only; the list does not show it) is stored within 12 runs, while each run
    reads only a share of the recordings."""
    wh = new_warehouse(tmp_path)
    now = fresh_sandbox.now_ms()
    opts = {"staleness_days": 0.5, "run_interval_hours": 1, "sweep_every_hours": 10_000}
    run_valt(fresh_sandbox, wh, now_ms=now, **opts)
    changed = fresh_sandbox.valt_churn(
        retention_changes=20, retention={"type": "until", "until": now // 1000 + 400 * 86_400}
    )["retention_changed"]
    want = (now // 1000 + 400 * 86_400) * 1000

    def picked_up() -> set[str]:
        recs = stored_recordings(wh)
        return {rid for rid in changed if recs[rid]["retention_until"] == want}

    live_count = len(sandbox_recordings(fresh_sandbox)[0])
    for run in range(1, 13):
        report = run_valt(fresh_sandbox, wh, now_ms=now + run * HOUR_MS, **opts)
        assert report.details_fetched < live_count / 3, "the policy read most recordings"
        assert "changed" not in report.details_by_reason, "the list showed the change"
        if run == 1:
            assert len(picked_up()) < len(changed) / 2, "found at once: the test proves nothing"
    missing = set(changed) - picked_up()
    assert not missing, f"{len(missing)} changed retentions not picked up within the budget"
    assert_matches_sandbox(fresh_sandbox, wh)


def test_tokens_that_expire_and_are_revoked_mid_run_are_renewed(fresh_sandbox, tmp_path):
    wh = new_warehouse(tmp_path)
    fresh_sandbox.valt_config(token_ttl_s=1)
    fresh_sandbox.faults(scope="valt", p_slow=1.0, slow_s=0.02)
    fresh_sandbox.valt_revoke(after_requests=40)
    report = run_valt(fresh_sandbox, wh, details_concurrency=4)
    fresh_sandbox.clear_faults()
    stats = fresh_sandbox.valt_stats()
    assert stats["responses_401"] >= 2 and stats["tokens_revoked"] >= 1
    assert report.logins >= 3 and report.reauths >= 2
    assert report.logins == stats["logins"]
    assert_matches_sandbox(fresh_sandbox, wh)


def test_the_state_keeps_the_newest_created_and_the_last_sweep(fresh_sandbox, tmp_path):
    wh = new_warehouse(tmp_path)
    now = fresh_sandbox.now_ms()
    report = run_valt(fresh_sandbox, wh, now_ms=now)
    state = orjson.loads(rows(wh, "SELECT state FROM meta.sync_state WHERE stream = 'valt'")[0][0])
    live, _ = sandbox_recordings(fresh_sandbox)
    assert state["max_created_s"] == max(r["created"] for r in live.values())
    assert state["last_sweep_ms"] == now and state["listing"] is None
    assert report.cursor_after == state["max_created_s"]
    assert rows(wh, "SELECT count(*) FROM meta.valt_details_due")[0][0] == 0
    assert rows(wh, "SELECT count(*) FROM meta.valt_listing_seen")[0][0] == 0


@pytest.mark.slow
def test_sigkill_mid_sync_then_rerun_equals_the_sandbox(fresh_sandbox, tmp_path):
    """Killed mid-listing, then mid-details, then run to the end: the tables equal the
    sandbox's catalog, nothing is left due, and no lake file lacks its ledger row."""
    fresh_sandbox.reset(assets=6000)
    wh = new_warehouse(tmp_path, "killed")
    fresh_sandbox.faults(scope="valt", p_slow=1.0, slow_s=0.03)
    live = len(sandbox_recordings(fresh_sandbox)[0])
    assert live > 800, "too few recordings to be killed mid-run"
    for kill_after in (4, 12):
        proc = cli(fresh_sandbox, wh, "sync", "valt", "--checkpoint-rows", "100")
        assert kill_after_checkpoints(proc, kill_after) == kill_after, "finished before the kill"
    state = orjson.loads(rows(wh, "SELECT state FROM meta.sync_state WHERE stream = 'valt'")[0][0])
    assert state["listing"] is None, "the second kill came before the details"
    due = rows(wh, "SELECT count(*) FROM meta.valt_details_due")[0][0]
    assert 0 < due < live, "the second kill did not land mid-details"
    fresh_sandbox.clear_faults()
    rerun = cli(fresh_sandbox, wh, "sync", "valt")
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err.decode()[-2000:]
    assert_matches_sandbox(fresh_sandbox, wh)
    assert rows(wh, "SELECT count(*) FROM meta.valt_details_due")[0][0] == 0
    lake = {p.relative_to(wh.lake_root).as_posix() for p in wh.lake_root.rglob("*") if p.is_file()}
    ledger = {r[0] for r in rows(wh, "SELECT path FROM meta.lake_files")}
    assert lake <= ledger, f"lake files without a ledger row: {sorted(lake - ledger)[:3]}"
