"""Every column of raw.ibm_videos and raw.ibm_expirations against the sandbox's catalog,
through a first sync, churn, a video leaving (missing, then removed) and one coming back.
Expected rows are restated by hand from the sandbox's record (tests/ibm_helpers.py)."""

from __future__ import annotations

from tests.ibm_helpers import (
    VIDEO_COLUMNS,
    assert_ibm_matches_sandbox,
    expected_listed,
    new_warehouse,
    restate_video,
    run_ibm,
    stored_table,
)


def test_every_column_follows_the_sandbox_through_churn_and_removal(fresh_sandbox, tmp_path):
    fresh_sandbox.reset(seed=7, assets=1000, malformed_fraction=0.02)
    wh = new_warehouse(tmp_path)
    now0 = fresh_sandbox.now_ms()
    run_ibm(fresh_sandbox, wh, now_ms=now0)
    before = assert_ibm_matches_sandbox(fresh_sandbox, wh, now0)
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


def assert_gone(wh, before: dict, gone: set, seen_at: int, missing_since, removed_at) -> None:
    """Videos no longer listed keep the state of the one listing that showed them (at
    ``seen_at``); ``missing_since`` is the first complete listing without them,
    ``removed_at`` (after a second one) that same instant."""
    stored = stored_table(wh, "raw.ibm_videos", VIDEO_COLUMNS)
    for vid in gone:
        want = restate_video(before[vid], seen_at, seen_at)
        want.update(missing_since=missing_since, removed_at=removed_at)
        assert stored[vid] == want, vid
