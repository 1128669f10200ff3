"""Under a tight rate limit the IBM sync paces itself: it completes, 429s stay under 1%, the
requests are exactly those the work needs (counted by the sandbox), each endpoint is paced
by its own budget (the sandbox counts per endpoint, and its headers say so), and the tables
equal the sandbox's catalog."""

from __future__ import annotations

import math

from sandbox.server import SandboxProcess
from tests.ibm_helpers import assert_ibm_matches_sandbox, new_warehouse, run_ibm

LIMITS = {
    "expiration": {"limit": 200, "window_s": 1},
    "videos": {"limit": 4, "window_s": 1},
    "token": {"limit": 1, "window_s": 1},
}


def served(stats: dict, endpoint: str, statuses: tuple[int, ...]) -> int:
    return sum(
        r["count"]
        for r in stats["responses"]
        if r["endpoint"] == endpoint and r["status"] in statuses
    )


def test_tight_rate_limit_completes_with_few_429s_and_exactly_the_needed_requests(tmp_path):
    # its own sandbox process: request counts are the ground truth here, and nothing a
    # previous test left in the session sandbox may add to them
    with SandboxProcess(seed=7, assets=1200) as sandbox:
        _check_tight_rate_limit(sandbox, tmp_path)


def _check_tight_rate_limit(fresh_sandbox, tmp_path) -> None:
    now = fresh_sandbox.now_ms()
    config = fresh_sandbox.ibm_config(rate_limits=LIMITS)
    assert all(config["rate_limits"][k] == {**v, "window_s": 1.0} for k, v in LIMITS.items())
    fresh_sandbox.ibm_reset_stats()
    wh = new_warehouse(tmp_path)
    report = run_ibm(fresh_sandbox, wh, now_ms=now)
    stats = fresh_sandbox.ibm_stats()

    listed = assert_ibm_matches_sandbox(fresh_sandbox, wh, now)
    checkable = [v for v in listed.values() if not v["malformed"]]
    per_channel: dict[str, int] = {}
    for v in listed.values():
        per_channel[v["channel_id"]] = per_channel.get(v["channel_id"], 0) + 1
    pagesize = config["pagesize_max"]
    # every answer other than a 429 was one piece of needed work, done once
    assert served(stats, "expiration", (200, 403, 404)) == len(checkable) > 400
    assert served(stats, "videos", (200,)) == sum(
        math.ceil(n / pagesize) for n in per_channel.values()
    )
    assert served(stats, "token", (200,)) == stats["tokens_issued"] == 1
    # the connector's counters are the sandbox's
    total = sum(stats["requests"].values())
    total_429 = sum(stats["responses_429"].values())
    assert (report.requests, report.responses_429) == (total, total_429)
    assert report.expiration_requests == stats["requests"]["expiration"]
    assert report.expiration_429 == stats["responses_429"]["expiration"]
    # paced under the budget rather than bouncing off it
    assert total_429 < 0.01 * total, stats
    # each endpoint paced by its own budget once the headers told them apart: the checks,
    # fed by a listing held to 4 pages/s, end within a few of their own 200/s windows after
    # it (held to the listing's 4/s or the token endpoint's 1/s they took ~45 windows)
    windows, busiest = stats["windows_used"], stats["busiest_window"]
    assert busiest["videos"] <= LIMITS["videos"]["limit"]
    assert busiest["expiration"] <= LIMITS["expiration"]["limit"]
    assert windows["expiration"] <= windows["videos"] + 3, (windows, busiest)
