"""The IBM stream end to end over loopback: listing, expiration states, removals, history,
and the refresh policy over simulated days."""

from __future__ import annotations

import math

from connector.ibm import RefreshPolicy
from tests.ibm_helpers import (
    DAY_MS,
    DAY_S,
    expected_listed,
    new_warehouse,
    rows,
    run_ibm,
)


def assert_expirations_match_sandbox(sandbox, wh, video_ids=None) -> None:
    expected = expected_listed(sandbox)
    got = {
        r[0]: r[1:]
        for r in rows(
            wh,
            "SELECT video_id, rule, epoch_ms(expires_at) // 1000, check_status FROM raw.ibm_expirations",
        )
    }
    for vid in video_ids if video_ids is not None else expected:
        e = expected[vid]
        if e["malformed"]:
            continue
        want = (
            (None, None, e["check_error"])
            if e["check_error"]
            else (e["rule"], e["expires_at"], "ok")
        )
        assert got[vid] == want, (vid, got.get(vid), want)


def test_first_sync_lists_every_channel_and_records_every_state(fresh_sandbox, tmp_path):
    wh = new_warehouse(tmp_path)
    report = run_ibm(fresh_sandbox, wh, pagesize=100)  # the server clamps to 50
    expected = expected_listed(fresh_sandbox)
    assert report.channels == 4
    # 50 per page: a listing that stopped at a short page would have ended after page one
    assert report.pages >= sum(math.ceil(n / 50) for n in _per_channel(expected).values())
    got = dict(rows(wh, "SELECT video_id, channel_id FROM raw.ibm_videos WHERE removed_at IS NULL"))
    assert got == {vid: r["channel_id"] for vid, r in expected.items()}
    titles = dict(rows(wh, "SELECT video_id, title FROM raw.ibm_videos"))
    assert all(titles[v] == r["title"] for v, r in expected.items())
    assert report.checked_by_reason == {"new": len(expected), "horizon": 0, "rolling": 0}
    assert_expirations_match_sandbox(fresh_sandbox, wh)
    # 403 / 404 are states of their videos, not a failed run
    statuses = dict(rows(wh, "SELECT check_status, count(*) FROM raw.ibm_expirations GROUP BY 1"))
    assert {"ok", "not_found", "forbidden", "lack_of_ownership"} <= set(statuses)
    assert rows(wh, "SELECT status FROM meta.runs WHERE stream = 'ibm'") == [("ok",)]
    # first observation of every video is in the history (previous values NULL)
    assert rows(
        wh, "SELECT count(*) FROM raw.ibm_expiration_history WHERE prev_check_status IS NULL"
    ) == [(len(expected),)]


def _per_channel(expected: dict) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in expected.values():
        out[r["channel_id"]] = out.get(r["channel_id"], 0) + 1
    return out


def test_malformed_videos_are_rejected_with_their_reason(fresh_sandbox, tmp_path):
    fresh_sandbox.reset(seed=7, assets=1000, malformed_fraction=0.05)
    wh = new_warehouse(tmp_path)
    report = run_ibm(fresh_sandbox, wh)
    bad = {v for v, r in expected_listed(fresh_sandbox).items() if r["malformed"]}
    assert bad and report.rejected == len(bad)
    rejects = dict(
        rows(wh, "SELECT record_id, reason FROM meta.rejects WHERE stream = 'ibm_videos'")
    )
    assert set(rejects) == bad
    assert all("length" in reason for reason in rejects.values())
    assert not rows(
        wh, "SELECT 1 FROM raw.ibm_videos WHERE video_id IN (SELECT unnest(?))", [sorted(bad)]
    )


def test_removed_only_after_two_complete_listings_and_cleared_when_back(fresh_sandbox, tmp_path):
    fresh_sandbox.reset(seed=7, assets=1000)
    wh = new_warehouse(tmp_path)
    run_ibm(fresh_sandbox, wh)
    before = set(expected_listed(fresh_sandbox))
    fresh_sandbox.advance(seconds=3600, creates=100, deletes=80)
    after = set(expected_listed(fresh_sandbox))
    gone, new = before - after, after - before
    assert gone and new
    # a video the warehouse wrongly thinks removed comes back
    back = sorted(after & before)[0]
    with wh.write() as tx:
        tx.execute("UPDATE raw.ibm_videos SET removed_at = now() WHERE video_id = ?", [back])
    first = run_ibm(fresh_sandbox, wh)
    # one complete listing without a video only marks it missing (offset paging can let a
    # video slide between pages while the channel changes)
    assert (first.videos_missing, first.videos_removed) == (len(gone), 0)
    assert first.videos_returned == 1
    missing = dict(
        rows(
            wh, "SELECT video_id, missing_since FROM raw.ibm_videos WHERE missing_since IS NOT NULL"
        )
    )
    assert set(missing) == gone
    assert first.checked_by_reason["new"] == len(new)

    second = run_ibm(fresh_sandbox, wh)
    assert (second.videos_missing, second.videos_removed) == (0, len(gone))
    removed = dict(
        rows(wh, "SELECT video_id, removed_at FROM raw.ibm_videos WHERE removed_at IS NOT NULL")
    )
    assert removed == missing  # removed_at is when it left: the first listing without it
    # removed videos are not checked
    checked_now = {
        r[0]
        for r in rows(
            wh,
            "SELECT video_id FROM raw.ibm_expirations WHERE epoch_ms(checked_at) = ?",
            [second.now_ms],
        )
    }
    assert not checked_now & gone


def reference_selection(wh, now_ms: int, policy: RefreshPolicy) -> dict[str, str]:
    """An independent, plain-Python statement of the refresh policy over the warehouse."""
    live = rows(
        wh,
        "SELECT v.video_id, e.rule, epoch_ms(e.expires_at), epoch_ms(e.checked_at) "
        "FROM raw.ibm_videos v LEFT JOIN raw.ibm_expirations e USING (video_id) WHERE v.removed_at IS NULL",
    )
    out: dict[str, str] = {}
    rest = []
    for vid, rule, exp, checked in live:
        if checked is None:
            out[vid] = "new"
        elif rule == "at_given_time" and exp <= now_ms + policy.horizon_days * DAY_MS:
            out[vid] = "horizon"
        else:
            rest.append((checked, vid))
    rest.sort()
    runs = int(policy.staleness_days * 24 // policy.run_interval_hours)
    quota = math.ceil(len(rest) / runs)
    for k, (checked, vid) in enumerate(rest):
        if (
            k < quota
            or checked + policy.staleness_days * DAY_MS
            <= now_ms + policy.run_interval_hours * 3_600_000
        ):
            out[vid] = "rolling"
    return out


def test_refresh_policy_selects_exactly_the_right_videos_over_simulated_days(
    fresh_sandbox, tmp_path
):
    fresh_sandbox.reset(seed=7, assets=800)
    policy = RefreshPolicy(
        horizon_days=20, staleness_days=3, run_interval_hours=24
    )  # 3 runs / budget
    wh = new_warehouse(tmp_path)
    run_ibm(fresh_sandbox, wh, policy=policy)
    for day in range(1, 6):
        fresh_sandbox.advance(seconds=DAY_S, creates=15, deletes=10)
        now = fresh_sandbox.now_ms()
        for _ in range(2):  # listing only, twice: removals are confirmed by a second listing
            run_ibm(fresh_sandbox, wh, now_ms=now, policy=policy, check_expirations=False)
        want = reference_selection(wh, now, policy)
        report = run_ibm(fresh_sandbox, wh, now_ms=now, policy=policy)
        checked = {
            r[0]
            for r in rows(
                wh, "SELECT video_id FROM raw.ibm_expirations WHERE epoch_ms(checked_at) = ?", [now]
            )
        }
        assert checked == set(want), f"day {day}: {len(checked ^ set(want))} differ"
        counts = {r: sum(1 for v in want.values() if v == r) for r in ("new", "horizon", "rolling")}
        assert report.checked_by_reason == counts
        assert counts["new"] > 0 and counts["horizon"] > 0 and counts["rolling"] > 0
        # staleness bound: every listed video was checked within the budget
        oldest = rows(
            wh,
            "SELECT min(epoch_ms(e.checked_at)) FROM raw.ibm_videos v JOIN raw.ibm_expirations e USING (video_id) "
            "WHERE v.removed_at IS NULL",
        )[0][0]
        assert now - oldest <= policy.staleness_days * DAY_MS
    # expirations did change over the simulated week, and the history tells when
    moved = rows(
        wh,
        "SELECT count(*) FROM raw.ibm_expiration_history WHERE prev_check_status IS NOT NULL "
        "AND source = 'sync'",
    )[0][0]
    assert moved > 0
    assert_expirations_match_sandbox(
        fresh_sandbox,
        wh,
        [
            r[0]
            for r in rows(
                wh, "SELECT video_id FROM raw.ibm_expirations WHERE epoch_ms(checked_at) = ?", [now]
            )
        ],
    )


def test_a_rerun_without_changes_adds_no_history(fresh_sandbox, tmp_path):
    fresh_sandbox.reset(seed=7, assets=600)
    wh = new_warehouse(tmp_path)
    run_ibm(fresh_sandbox, wh)
    n = rows(wh, "SELECT count(*) FROM raw.ibm_expiration_history")[0][0]
    report = run_ibm(
        fresh_sandbox, wh, policy=RefreshPolicy(staleness_days=1, run_interval_hours=24)
    )
    assert report.expirations_checked > 0 and report.expiration_changes == 0
    assert rows(wh, "SELECT count(*) FROM raw.ibm_expiration_history")[0][0] == n
    # nothing changed in the vendor: the writer was handed no new and no changed video (the
    # table itself is upserted by key and could not show a duplicate)
    assert (report.videos_inserted, report.videos_updated) == (0, 0)
    assert report.videos_listed == len(expected_listed(fresh_sandbox))
