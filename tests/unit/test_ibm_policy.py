"""The IBM refresh policy, pure: selection by reason, even spread, the staleness bound;
plus the expiration / video parsers."""

from __future__ import annotations

import math
import random

import pyarrow as pa
import pytest

from connector.ibm.client import Expiration, parse_expiration
from connector.ibm.normalize import video_row
from connector.ibm.policy import DAY_MS, HOUR_MS, RefreshPolicy, plan_refresh

NOW = 1_800_000_000_000


def table(rows: list[tuple]) -> pa.Table:
    cols = list(zip(*rows, strict=True)) if rows else [[], [], [], []]
    return pa.table(
        {
            "video_id": pa.array(cols[0], pa.string()),
            "rule": pa.array(cols[1], pa.string()),
            "expires_at_ms": pa.array(cols[2], pa.int64()),
            "checked_at_ms": pa.array(cols[3], pa.int64()),
        }
    )


def test_reasons_new_horizon_rolling():
    policy = RefreshPolicy(horizon_days=30, staleness_days=7, run_interval_hours=24)  # 7 runs
    rows = [
        ("1", None, None, None),  # never checked -> new
        ("2", "at_given_time", NOW + 29 * DAY_MS, NOW - HOUR_MS),  # within the horizon
        ("3", "at_given_time", NOW - DAY_MS, NOW - HOUR_MS),  # expired, not deleted yet: horizon
        ("4", "at_given_time", NOW + 31 * DAY_MS, NOW - HOUR_MS),  # beyond: rest
    ] + [(f"r{k:02d}", "never", None, NOW - k * HOUR_MS) for k in range(13)]  # rest
    plan = plan_refresh(table(rows), NOW, policy)
    assert plan.counts == {"new": 1, "horizon": 2, "rolling": math.ceil(14 / 7)}
    assert plan.video_ids[:3] == ["1", "3", "2"]  # new, then soonest expiry first
    assert plan.video_ids[3:] == ["r12", "r11"]  # stalest first
    assert plan.rest == 14 and plan.quota == 2


def test_videos_about_to_exceed_the_budget_are_taken_beyond_the_quota():
    policy = RefreshPolicy(staleness_days=7, run_interval_hours=1)
    rows = [
        (f"v{k}", "never", None, NOW - 7 * DAY_MS + 30 * 60_000) for k in range(5)
    ]  # due in 30 min
    rows += [(f"w{k}", "never", None, NOW - DAY_MS) for k in range(1000)]
    plan = plan_refresh(table(rows), NOW, policy)
    assert plan.quota == math.ceil(1005 / 168)
    assert {f"v{k}" for k in range(5)} <= set(plan.video_ids)
    assert plan.counts["rolling"] == plan.quota  # the due ones are the stalest, inside the quota


def test_empty_and_invalid():
    assert len(plan_refresh(table([]), NOW)) == 0
    with pytest.raises(ValueError):
        RefreshPolicy(staleness_days=0)


@pytest.mark.parametrize("interval_h,budget_d", [(1, 7), (6, 2), (24, 3)])
def test_simulated_runs_keep_every_video_within_the_budget_and_spread_the_work(
    interval_h, budget_d
):
    policy = RefreshPolicy(horizon_days=30, staleness_days=budget_d, run_interval_hours=interval_h)
    rng = random.Random(interval_h)
    n = 2000
    state: dict[str, list] = {}
    for k in range(n):
        rule = "at_given_time" if rng.random() < 0.3 else "never"
        exp = NOW + rng.randint(-5, 120) * DAY_MS if rule == "at_given_time" else None
        state[f"{k:05d}"] = [rule, exp, None]
    now = NOW
    rolling_sizes = []
    runs = int(3 * budget_d * 24 / interval_h)
    for run in range(runs):
        if run % 5 == 0:  # new videos keep arriving
            state[f"n{run:05d}"] = ["never", None, None]
        rows = [(vid, r, e, c) for vid, (r, e, c) in state.items()]
        plan = plan_refresh(table(rows), now, policy)
        for vid, reason in zip(plan.video_ids, plan.reasons, strict=True):
            if reason == "new":
                assert state[vid][2] is None
            state[vid][2] = now
        assert all(c is not None for _, _, c in state.values())  # every new one got checked
        oldest = min(c for _, _, c in state.values())
        assert now - oldest <= policy.budget_ms
        if run >= policy.runs_per_budget:  # after the first budget: steady state
            rolling_sizes.append(plan.counts["rolling"])
        now += policy.interval_ms
    # even spread: no run checks much more than the quota once settled
    quota = math.ceil(n / policy.runs_per_budget)
    assert max(rolling_sizes) <= 2 * quota + 1


def test_parse_expiration_states():
    assert parse_expiration("1", 200, {"expiration": {"rule": "never"}}) == Expiration(
        "1", "ok", "never"
    )
    assert parse_expiration(
        "1", 200, {"expiration": {"rule": "at_given_time", "expires_at": 1700000000}}
    ) == (Expiration("1", "ok", "at_given_time", 1700000000))
    assert parse_expiration("1", 404, {"error": "not_found"}).status == "not_found"
    assert parse_expiration("1", 403, {"error": "lack_of_ownership"}).status == "lack_of_ownership"
    assert parse_expiration("1", 403, {"error": "forbidden"}).status == "forbidden"
    for bad in (
        {},
        {"expiration": {"rule": "sometimes"}},
        {"expiration": {"rule": "at_given_time"}},
    ):
        with pytest.raises(ValueError):
            parse_expiration("1", 200, bad)


def test_video_row_normalises_and_rejects():
    row = video_row(
        {
            "id": "123",
            "title": "T",
            "length": "61.5",
            "created_at": 1700000000,
            "added_at": 1700000001,
            "protect": "public",
        },
        "c1",
    )
    assert row == ("123", "c1", "T", 61.5, 1700000000000, 1700000001000, "public")
    for bad in ({"id": 5}, {"id": "x1"}, {"id": "1", "length": "n/a"}, {"id": "1", "title": 3}):
        with pytest.raises(ValueError):
            video_row(bad, "c1")
