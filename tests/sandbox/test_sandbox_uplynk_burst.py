"""Bursts: more changes at one millisecond than one asset/changes page holds (a bulk delete).

The vendor has no sub-millisecond paging: a page holds at most changes_page_size changes;
when they all sit at one ms, ``end`` is that ms and asking again with start=end answers the
same page. The sandbox must be able to produce that, or it agrees with a client that stalls.
"""

from __future__ import annotations

from collections import Counter

import pytest

from .uplynk_client import Uplynk

PAGE = 500


@pytest.fixture
def up(fresh_sandbox):
    c = Uplynk(fresh_sandbox.env)
    yield c
    c.close()


def test_a_burst_larger_than_a_page_fills_a_page_at_one_ms_and_start_end_repeats_it(
    fresh_sandbox, up
):
    fresh_sandbox.reset(seed=7, assets=2000, changes_page_size=PAGE)
    live_before = fresh_sandbox.world()["live"]
    b = fresh_sandbox.uplynk_burst(deletes=700)
    ms = b["uplynk_ts_ms"]
    assert b["deletes"] == 700 and len(set(b["deleted_ids"])) == 700
    assert b["live"] == live_before - 700

    page = up.ok("/api2/asset/changes", start=ms)
    assert len(page["changes"]) == PAGE
    assert {c[0] for c in page["changes"]} == {ms}
    assert {c[1] for c in page["changes"]} == {"delete"}
    assert page["end"] == ms
    again = up.ok("/api2/asset/changes", start=page["end"])
    assert again["changes"] == page["changes"] and again["end"] == ms
    # the assets state of the burst's ids carries `deleted` at the burst's ms
    for c in page["changes"]:
        assert page["assets"][c[2]]["deleted"] == ms

    # every one of the 700 is in the feed, at that one ms (a page big enough shows them)
    fresh_sandbox.config(changes_page_size=100_000)
    whole = up.ok("/api2/asset/changes", start=ms)
    at_ms = [c for c in whole["changes"] if c[0] == ms]
    assert sorted(c[2] for c in at_ms) == sorted(b["deleted_ids"])
    # ground truth agrees: the expected export and the stats
    expected = {r["id"]: r for r in fresh_sandbox.expected_uplynk() if "id" in r}
    assert all(expected[i]["deleted"] == ms for i in b["deleted_ids"])
    bursts = fresh_sandbox.uplynk_stats()["bursts"]
    assert bursts == [{"ts_ms": b["ts_ms"], "uplynk_ts_ms": ms, "deletes": 700, "updates": 0}]


def test_a_burst_of_updates_shares_one_ms_and_bumps_lastmod(fresh_sandbox, up):
    fresh_sandbox.reset(seed=7, assets=2000, changes_page_size=50)
    b = fresh_sandbox.uplynk_burst(updates=80, deletes=10)
    ms = b["uplynk_ts_ms"]
    assert len(b["updated_ids"]) == 80 and not set(b["updated_ids"]) & set(b["deleted_ids"])
    page = up.ok("/api2/asset/changes", start=ms)
    assert len(page["changes"]) == 50 and page["end"] == ms
    assert {c[0] for c in page["changes"]} == {ms}
    got = up.ok("/api2/asset/get", ids=b["updated_ids"])["assets"]
    assert len(got) == 80 and {a["lastmod"] for a in got} == {ms}
    fresh_sandbox.config(changes_page_size=100_000)
    kinds = Counter(c[1] for c in up.ok("/api2/asset/changes", start=ms)["changes"] if c[0] == ms)
    assert kinds == {"update": 80, "delete": 10}


def test_bursts_follow_every_logged_change_and_bad_bodies_are_refused(fresh_sandbox):
    first = fresh_sandbox.uplynk_burst(deletes=3)
    second = fresh_sandbox.uplynk_burst(deletes=3)
    assert second["ts_ms"] > first["ts_ms"]  # each burst has its millisecond to itself
    assert [x["deletes"] for x in fresh_sandbox.uplynk_stats()["bursts"]] == [3, 3]
    for body in ({}, {"deletes": -1}, {"deletes": "many"}, {"deletes": 1, "creates": 2}):
        with pytest.raises(RuntimeError, match="400"):
            fresh_sandbox._call("POST", "/uplynk/burst", body)
    fresh_sandbox.reset(seed=7, assets=2000)
    assert fresh_sandbox.uplynk_stats()["bursts"] == []


def test_ordinary_churn_is_capped_below_a_page_unless_the_cap_is_switched_off(fresh_sandbox, up):
    fresh_sandbox.reset(seed=7, assets=2000, changes_page_size=50)
    capped = fresh_sandbox.advance(1, burst=80)
    assert capped["burst"] == 49
    fresh_sandbox.config(changes_page_size=100_000)
    feed = up.ok("/api2/asset/changes", start=capped["uplynk_from_ms"])["changes"]
    assert max(Counter(c[0] for c in feed).values()) == 49

    fresh_sandbox.reset(seed=7, assets=2000, changes_page_size=50, cap_changes_per_ms=False)
    uncapped = fresh_sandbox.advance(1, burst=80)
    assert uncapped["burst"] == 80
    page = up.ok("/api2/asset/changes", start=uncapped["uplynk_from_ms"])
    fresh_sandbox.config(changes_page_size=100_000)
    feed = up.ok("/api2/asset/changes", start=uncapped["uplynk_from_ms"])["changes"]
    per_ms = Counter(c[0] for c in feed)
    assert max(per_ms.values()) >= 80
    burst_ms = max(per_ms, key=per_ms.get)
    # paging from the burst's ms: a full page at that ms, then the same page again
    fresh_sandbox.config(changes_page_size=50)
    at = up.ok("/api2/asset/changes", start=burst_ms)
    assert at["end"] == burst_ms and {c[0] for c in at["changes"]} == {burst_ms}
    assert up.ok("/api2/asset/changes", start=at["end"])["changes"] == at["changes"]
    assert len(page["changes"]) == 50
