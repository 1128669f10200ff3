"""The VALT details policy: due recordings first, the retention horizon every run, and a
rolling share of the rest so each recording is re-read within the staleness budget."""

from __future__ import annotations

from connector.valt.policy import Candidate, DetailsPolicy, plan_details

DAY = 86_400_000
HOUR = 3_600_000
NOW = 1_800_000_000_000


def test_due_then_horizon_then_rolling_with_their_reasons():
    cands = [
        Candidate("n1", "new", None, None),
        Candidate("c1", "changed", None, NOW - DAY),
        Candidate("u1", "unlisted", None, NOW - DAY),
        Candidate("h-soon", None, NOW + 2 * DAY, NOW - HOUR),
        Candidate("h-past", None, NOW - 2 * DAY, NOW - HOUR),
        Candidate("far", None, NOW + 30 * DAY, NOW - HOUR),
        Candidate("old", None, None, NOW - 6 * DAY),
    ]
    plan = plan_details(cands, NOW, DetailsPolicy(horizon_days=7))
    assert plan.record_ids[:5] == ["n1", "c1", "u1", "h-past", "h-soon"]
    assert plan.reasons[:5] == ["new", "changed", "unlisted", "horizon", "horizon"]
    assert plan.rest == 2 and plan.quota == 1
    assert plan.record_ids[5:] == ["old"]  # the stalest of the rest


def test_every_recording_is_reread_within_the_staleness_budget_over_hourly_runs():
    policy = DetailsPolicy(staleness_days=1, run_interval_hours=1, horizon_days=0)
    checked = {f"r{i:03d}": NOW - (i % 24) * HOUR for i in range(500)}
    worst = 0
    for run in range(72):
        now = NOW + run * HOUR
        plan = plan_details(
            (Candidate(r, None, None, at) for r, at in checked.items()), now, policy
        )
        for rid in plan.record_ids:
            worst = max(worst, now - checked[rid])
            checked[rid] = now
        assert all(now - at <= policy.budget_ms for at in checked.values())
    assert worst <= policy.budget_ms
    assert len(plan) <= 500 / 24 + 25  # spread, not everything every run


def test_overdue_ones_are_all_taken_even_beyond_the_quota():
    policy = DetailsPolicy(staleness_days=7, run_interval_hours=1, horizon_days=0)
    cands = [Candidate(f"r{i}", None, None, NOW - 8 * DAY) for i in range(10)]
    cands += [Candidate(f"f{i}", None, None, NOW) for i in range(1000)]
    plan = plan_details(cands, NOW, policy)
    assert plan.quota == 7 and plan.overdue == 10
    assert sorted(plan.record_ids) == sorted(f"r{i}" for i in range(10))
