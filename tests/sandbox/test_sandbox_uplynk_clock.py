"""A feed clock ahead of or behind the client's: ``uplynk_clock_offset_s``.

Everything the feed dates (change timestamps, ``end``, created/lastmod/deleted/autoexpire)
runs on the vendor's clock; request signing stays on the real clock.
"""

from __future__ import annotations

import time

import pytest

from .uplynk_client import Uplynk

HOUR_S = 3600
HOUR_MS = 3_600_000
DATE_FIELDS = ("created", "lastmod", "deleted", "autoexpire")


@pytest.fixture
def up(fresh_sandbox):
    c = Uplynk(fresh_sandbox.env)
    yield c
    c.close()


def local_now_ms() -> int:
    return time.time_ns() // 1_000_000


def test_a_feed_three_hours_behind_answers_an_end_below_the_start_sent(fresh_sandbox, up):
    fresh_sandbox.reset(seed=7, assets=2000, uplynk_clock_offset_s=-3 * HOUR_S)
    start = local_now_ms() - 10 * 60_000  # a first walk from "10 minutes ago", local clock
    page = up.ok("/api2/asset/changes", start=start)  # signed on the real clock: accepted
    assert page["start"] == start and page["changes"] == []
    assert page["end"] < start - 2 * HOUR_MS  # the vendor's now, hours below our start
    assert page["end"] <= fresh_sandbox.uplynk_now_ms()

    # `end` is still the next start: what happens after it is served from it, on its clock
    a = fresh_sandbox.advance(60, updates=20, deletes=5)
    assert a["uplynk_from_ms"] == a["from_ms"] - 3 * HOUR_MS
    nxt = up.ok("/api2/asset/changes", start=page["end"])
    new = [c for c in nxt["changes"] if c[0] > a["uplynk_from_ms"]]
    assert sum(c[1] == "delete" for c in new) >= 5 and sum(c[1] == "update" for c in new) >= 1
    assert all(c[0] <= a["uplynk_to_ms"] for c in new)
    assert nxt["end"] >= a["uplynk_to_ms"]
    # assets are dated on the same (feed) clock as the changes
    last: dict[str, tuple[str, int]] = {}
    for t, action, aid in new:
        last[aid] = (action, max(t, last.get(aid, (action, t))[1]))
    for aid, (action, t) in last.items():
        asset = nxt["assets"].get(aid) or up.ok("/api2/asset/get", id=aid)["asset"]
        assert asset["deleted" if action == "delete" else "lastmod"] == t, aid


def test_a_feed_three_hours_ahead_serves_from_a_local_start_and_ends_in_its_future(
    fresh_sandbox, up
):
    fresh_sandbox.reset(seed=7, assets=2000, uplynk_clock_offset_s=3 * HOUR_S)
    start = local_now_ms() - 10 * 60_000
    a = fresh_sandbox.advance(60, updates=10)
    page = up.ok("/api2/asset/changes", start=start)
    assert page["end"] > start + 2 * HOUR_MS
    ts = [c[0] for c in page["changes"]]
    assert ts and min(ts) >= start and max(ts) <= a["uplynk_to_ms"]
    assert sum(a["uplynk_from_ms"] < t for t in ts) >= 10


def test_every_served_date_moves_by_the_offset_and_nothing_else_does(fresh_sandbox, up):
    epoch = fresh_sandbox.now_ms() + 86_400_000  # ahead of the clock: nothing autoexpires
    rows = []
    for offset_s in (0, -3 * HOUR_S):
        fresh_sandbox.reset(seed=7, assets=2000, epoch_ms=epoch, uplynk_clock_offset_s=offset_s)
        rows.append(list(fresh_sandbox.expected_uplynk()))
    assert len(rows[0]) == len(rows[1]) == 2000
    shifted = {f: 0 for f in DATE_FIELDS}
    for plain, behind in zip(*rows, strict=True):
        for f in DATE_FIELDS:
            if plain.get(f):  # 0 (never / live) stays 0
                assert behind[f] == plain[f] - 3 * HOUR_MS, (f, plain["id"])
                shifted[f] += 1
        assert {k: v for k, v in behind.items() if k not in DATE_FIELDS} == {
            k: v for k, v in plain.items() if k not in DATE_FIELDS
        }
    assert all(shifted.values()), shifted
    # the API serves what the export says
    live = [r for r in rows[1] if "deleted" not in r][:50]
    got = up.ok("/api2/asset/get", ids=[r["id"] for r in live])["assets"]
    assert got == [{k: v for k, v in r.items() if k not in ("malformed", "_index")} for r in live]


def test_the_offset_can_change_on_a_live_world(fresh_sandbox, up):
    assert fresh_sandbox.uplynk_stats()["uplynk_offset_ms"] == 0
    fresh_sandbox.config(uplynk_clock_offset_s=-HOUR_S)
    stats = fresh_sandbox.uplynk_stats()  # one snapshot: both clocks read together
    assert stats["uplynk_now_ms"] == stats["now_ms"] - HOUR_MS
    assert stats["knobs"]["uplynk_clock_offset_s"] == -HOUR_S
    page = up.ok("/api2/asset/changes", start=fresh_sandbox.now_ms())
    assert page["end"] < page["start"]
