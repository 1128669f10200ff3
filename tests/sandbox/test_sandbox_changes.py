"""/api2/asset/changes: paging, the inclusive boundary, equal timestamps, retention, churn."""

from __future__ import annotations

import pytest

from .uplynk_client import Uplynk

HOUR = 3600


@pytest.fixture
def up(fresh_sandbox):
    c = Uplynk(fresh_sandbox.env)
    yield c
    c.close()


PAGE = 50


def page_through(up, start, page=PAGE):
    """All pages from start, chaining start=end; returns (pages, deduplicated changes)."""
    pages, seen, out = [], set(), []
    for _ in range(1000):
        d = up.ok("/api2/asset/changes", start=start)
        pages.append(d)
        for ch in d["changes"]:
            if tuple(ch) not in seen:
                seen.add(tuple(ch))
                out.append(tuple(ch))
        if len(d["changes"]) < page:
            break
        start = d["end"]
    return pages, out


def test_pages_chain_with_inclusive_end_and_equal_timestamps_straddle_a_page(fresh_sandbox, up):
    fresh_sandbox.reset(seed=7, assets=2000, changes_page_size=PAGE)
    a = fresh_sandbox.advance(1, updates=30)
    fresh_sandbox.advance(1, burst=PAGE + 10)  # capped at PAGE - 1 in one ms
    start = a["from_ms"]
    pages, changes = page_through(up, start)
    # one big page sees the same deduplicated feed
    fresh_sandbox.config(changes_page_size=100000)
    whole = up.ok("/api2/asset/changes", start=start)
    assert [tuple(c) for c in whole["changes"]] == changes
    assert len(changes) >= 30 + PAGE - 1
    straddled = False
    for p, nxt in zip(pages, pages[1:], strict=False):
        assert len(p["changes"]) == PAGE  # only full pages are followed
        assert p["end"] == p["changes"][-1][0]
        repeated = [c for c in p["changes"] if c[0] == p["end"]]
        assert nxt["changes"][: len(repeated)] == repeated  # inclusive: repeats the tail ms
        straddled |= len(repeated) > 1
    assert straddled
    ts = [c[0] for c in changes]
    assert ts == sorted(ts)
    # the last page is not full and ends at the simulated now
    assert len(pages[-1]["changes"]) < PAGE
    assert pages[-1]["end"] >= ts[-1]


def test_no_millisecond_holds_a_full_page(fresh_sandbox, up):
    fresh_sandbox.reset(seed=7, assets=2000, changes_page_size=PAGE)
    a = fresh_sandbox.advance(1, updates=300, burst=500)
    d = up.ok("/api2/asset/changes", start=a["from_ms"])
    from collections import Counter

    fresh_sandbox.config(changes_page_size=100000)
    whole = up.ok("/api2/asset/changes", start=a["from_ms"])
    assert max(Counter(c[0] for c in whole["changes"]).values()) <= PAGE - 1
    assert len(d["changes"]) == PAGE


def test_assets_carry_current_state_and_some_are_left_for_asset_get(fresh_sandbox, up):
    fresh_sandbox.reset(seed=7, assets=2000, changes_assets_omit_prob=0.2)
    a = fresh_sandbox.advance(HOUR, creates=50, updates=200, deletes=40)
    d = up.ok("/api2/asset/changes", start=a["from_ms"])
    ids = {c[2] for c in d["changes"]}
    assert len(d["changes"]) >= 290  # (+ any autoexpiries in the hour)
    assert set(d["assets"]) < ids  # some omitted
    assert 0.05 < 1 - len(d["assets"]) / len(ids) < 0.4
    deletes = {c[2]: c[0] for c in d["changes"] if c[1] == "delete"}
    assert len(deletes) >= 40
    assert set(deletes) <= set(d["assets"])  # deleted assets are never left out
    for aid, asset in d["assets"].items():
        assert asset["id"] == aid
        if aid in deletes:
            assert asset["deleted"] == deletes[aid]
        else:
            assert "deleted" not in asset
    missing = sorted(ids - set(d["assets"]) - set(deletes))
    got = up.ok("/api2/asset/get", ids=missing)
    assert {x["id"] for x in got["assets"]} == set(missing)


def test_changes_requires_start(up):
    assert up.call("/api2/asset/changes")["error"] == 1
    assert up.call("/api2/asset/changes", start="soon")["error"] == 1


def test_updates_bump_lastmod_and_title_and_creates_are_updates(fresh_sandbox, up):
    before = {r["id"]: r for r in fresh_sandbox.expected_uplynk()}
    a = fresh_sandbox.advance(60, creates=5, updates=20)
    d = up.ok("/api2/asset/changes", start=a["from_ms"])
    assert {c[1] for c in d["changes"]} == {"update"}
    created = set(a["created_ids"])
    assert created <= {c[2] for c in d["changes"]}
    changed_titles = 0
    for c in d["changes"]:
        if c[2] in created:
            continue
        cur = up.ok("/api2/asset/get", id=c[2])["asset"]
        assert cur["lastmod"] >= c[0] > before[c[2]]["lastmod"]
        changed_titles += cur["desc"] != before[c[2]]["desc"]
    assert changed_titles >= 10


def test_deletes_are_forgotten_after_the_window_but_updates_are_kept(fresh_sandbox, up):
    a = fresh_sandbox.advance(HOUR, deletes=30, updates=10)
    d = up.ok("/api2/asset/changes", start=a["from_ms"])
    assert sum(c[1] == "delete" for c in d["changes"]) >= 30  # (+ any autoexpiry)
    fresh_sandbox.advance(6 * HOUR + 1)
    d = up.ok("/api2/asset/changes", start=a["from_ms"])
    kinds = [c[1] for c in d["changes"] if c[0] <= a["to_ms"]]
    assert kinds.count("delete") == 0 and kinds.count("update") == 10
    # the world still knows they are deleted
    dead = [r for r in fresh_sandbox.expected_uplynk() if r.get("deleted", 0) >= a["from_ms"]]
    assert len(dead) >= 30


def test_autoexpired_assets_are_deleted_at_their_autoexpire_time(fresh_sandbox, up):
    now = fresh_sandbox.now_ms()
    first = min(
        (
            r
            for r in fresh_sandbox.expected_uplynk()
            if r["autoexpire"] > now and "deleted" not in r
        ),
        key=lambda r: r["autoexpire"],
    )
    assert up.ok("/api2/asset/get", id=first["id"])["asset"]["autoexpire"] == first["autoexpire"]
    fresh_sandbox.advance((first["autoexpire"] - now) / 1000 + 1)
    d = up.ok("/api2/asset/changes", start=now)
    dels = {c[2]: c[0] for c in d["changes"] if c[1] == "delete"}
    assert dels[first["id"]] == first["autoexpire"]
    assert up.call("/api2/asset/get", id=first["id"])["error"] == 1
