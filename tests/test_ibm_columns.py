"""Every column of raw.ibm_videos, raw.ibm_expirations and (first observations) of
raw.ibm_expiration_history against the sandbox's catalog, through a first sync, churn and
videos leaving (missing, then removed). Expected rows are restated by hand from the
sandbox's record (tests/ibm_helpers.py)."""

from __future__ import annotations

from tests.ibm_helpers import (
    VIDEO_COLUMNS,
    assert_ibm_matches_sandbox,
    expected_listed,
    new_warehouse,
    restate_expiration,
    restate_video,
    rows,
    run_ibm,
    stored_table,
    table_columns,
)


def test_every_column_follows_the_sandbox_through_churn_and_removal(fresh_sandbox, tmp_path):
    fresh_sandbox.reset(seed=7, assets=1000, malformed_fraction=0.02)
    wh = new_warehouse(tmp_path)
    now0 = fresh_sandbox.now_ms()
    report = run_ibm(fresh_sandbox, wh, now_ms=now0)
    before = assert_ibm_matches_sandbox(fresh_sandbox, wh, now0)
    assert_first_observations_in_history(wh, before, now0, report.run_id)
    assert any(v["malformed"] for v in before.values())
    assert {v["check_error"] for v in before.values()} >= {None, "not_found", "forbidden"}

    fresh_sandbox.advance(seconds=3600, creates=100, deletes=80)
    now1 = fresh_sandbox.now_ms()
    first = run_ibm(fresh_sandbox, wh, now_ms=now1)
    after = expected_listed(fresh_sandbox)
    first_seen = {vid: now0 if vid in before else now1 for vid in after}
    assert_ibm_matches_sandbox(fresh_sandbox, wh, now1, first_seen, all_checked=False)
    gone = {vid for vid in set(before) - set(after) if not before[vid]["malformed"]}
    assert len(gone) >= 20 and first.videos_missing == len(gone)
    assert_gone(wh, before, gone, now0, missing_since=now1, removed_at=None)

    now2 = now1 + 60_000
    second = run_ibm(fresh_sandbox, wh, now_ms=now2, check_expirations=False)
    assert second.videos_removed == len(gone)
    assert_gone(wh, before, gone, now0, missing_since=now1, removed_at=now1)


def assert_first_observations_in_history(wh, listed: dict, now: int, run_id: str) -> None:
    """A first sync writes one history row per checked video: the values read, no previous
    ones, observed at the sync's now, source 'sync', the run's id."""
    columns = ("video_id", "observed_at", "rule", "expires_at", "check_status", "prev_rule")
    columns += ("prev_expires_at", "prev_check_status", "source", "run_id")
    assert table_columns(wh, "raw.ibm_expiration_history") == columns
    got = rows(
        wh,
        "SELECT video_id, epoch_ms(observed_at), rule, epoch_ms(expires_at), check_status, "
        "prev_rule, prev_expires_at, prev_check_status, source, run_id "
        "FROM raw.ibm_expiration_history",
    )
    want = set()
    for vid, video in listed.items():
        if not video["malformed"]:
            e = restate_expiration(video, now)
            want.add(
                (vid, now, e["rule"], e["expires_at"], e["check_status"])
                + (None, None, None, "sync", run_id)
            )
    assert len(got) == len(want) and set(got) == want


def assert_gone(wh, before: dict, gone: set, seen_at: int, missing_since, removed_at) -> None:
    """Videos no longer listed keep the state of the one listing that showed them (at
    ``seen_at``); ``missing_since`` is the first complete listing without them,
    ``removed_at`` (after a second one) that same instant."""
    stored = stored_table(wh, "raw.ibm_videos", VIDEO_COLUMNS)
    for vid in gone:
        want = restate_video(before[vid], seen_at, seen_at)
        want.update(missing_since=missing_since, removed_at=removed_at)
        assert stored[vid] == want, vid
