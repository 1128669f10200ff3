"""Under a tight rate limit the IBM sync paces itself: it completes, 429s stay under 1%, and
the tables equal those of an unthrottled run."""

from __future__ import annotations

from tests.ibm_helpers import new_warehouse, run_ibm, snapshot


def test_tight_rate_limit_completes_with_few_429s_and_the_same_tables(fresh_sandbox, tmp_path):
    fresh_sandbox.reset(seed=7, assets=1200)
    now = fresh_sandbox.now_ms()
    free = new_warehouse(tmp_path, "free")
    run_ibm(fresh_sandbox, free, now_ms=now)

    fresh_sandbox.ibm_config(
        rate_limits={
            "expiration": {"limit": 200, "window_s": 1},
            "videos": {"limit": 4, "window_s": 1},
            "token": {"limit": 1, "window_s": 1},
        }
    )
    fresh_sandbox.ibm_reset_stats()
    tight = new_warehouse(tmp_path, "tight")
    report = run_ibm(fresh_sandbox, tight, now_ms=now)
    stats = fresh_sandbox.ibm_stats()
    served = sum(stats["requests"].values())
    served_429 = sum(stats["responses_429"].values())
    assert report.requests == served
    assert report.responses_429 == served_429
    assert served_429 < 0.01 * served, stats
    assert report.expiration_requests > 400
    assert snapshot(tight) == snapshot(free)
