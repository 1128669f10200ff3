"""Uplynk quirks the samples never show, each a world knob: ``get_unknown``,
``create_action``, ``numbers_as_strings``; and how the knobs are set and refused."""

from __future__ import annotations

import pytest

from .uplynk_client import Uplynk

STRING_FIELDS = ("duration", "autoexpire", "created", "lastmod")
NOT_SERVED = ("malformed", "_index", "served_as_strings")


@pytest.fixture
def up(fresh_sandbox):
    c = Uplynk(fresh_sandbox.env)
    yield c
    c.close()


def catalog(sandbox) -> tuple[list[dict], list[dict]]:
    """(live, deleted) rows of the expected export."""
    rows = list(sandbox.expected_uplynk())
    return [r for r in rows if "deleted" not in r], [r for r in rows if "deleted" in r]


# ------------------------------------------------------------------ asset/get and unknown ids


def test_get_unknown_error_answers_the_whole_batch_with_error_1(fresh_sandbox, up):
    fresh_sandbox.reset(seed=7, assets=2000, get_unknown="error")
    live, deleted = catalog(fresh_sandbox)
    ids = [r["id"] for r in live[:3]]
    stranger = "0123456789abcdef" * 2  # 32 hex, not one of this world's ids

    r = up.raw("/api2/asset/get", {"ids": [ids[0], stranger, ids[1]]})
    assert r.status_code == 200
    assert r.json() == {"error": 1, "msg": f"asset not found: {stranger}"}
    gone = up.call("/api2/asset/get", ids=[ids[0], deleted[0]["id"]])
    assert gone == {"error": 1, "msg": f"asset not found: {deleted[0]['id']}"}
    known_ext = next(r["external_id"] for r in live if r["external_id"])
    ext = up.call("/api2/asset/get", external_ids=[known_ext, "EXT-0"])
    assert ext["error"] == 1 and "EXT-0" in ext["msg"]
    ok = up.ok("/api2/asset/get", ids=ids + [ids[0]])  # duplicates are still ignored
    assert [a["id"] for a in ok["assets"]] == ids
    stats = fresh_sandbox.uplynk_stats()
    assert (stats["get_batches"], stats["get_error_batches"], stats["get_unknown_ids"]) == (4, 3, 3)

    fresh_sandbox.config(get_unknown="skip")  # the default: unknown and deleted ids skipped
    skipped = up.ok("/api2/asset/get", ids=[ids[0], stranger, deleted[0]["id"], ids[1]])
    assert [a["id"] for a in skipped["assets"]] == ids[:2]
    stats = fresh_sandbox.uplynk_reset_stats()
    assert stats["get_batches"] == stats["get_error_batches"] == 0


def test_get_unknown_default_skips_and_counts(fresh_sandbox, up):
    live, _ = catalog(fresh_sandbox)
    got = up.ok("/api2/asset/get", ids=[live[0]["id"], "f" * 32])
    assert [a["id"] for a in got["assets"]] == [live[0]["id"]]
    stats = fresh_sandbox.uplynk_stats()
    assert (stats["get_batches"], stats["get_error_batches"], stats["get_unknown_ids"]) == (1, 0, 1)


# ------------------------------------------------------------------ create actions


def test_create_action_serves_creates_as_create(fresh_sandbox, up):
    fresh_sandbox.reset(seed=7, assets=2000, create_action=True)
    a = fresh_sandbox.advance(60, creates=8, updates=15)
    feed = up.ok("/api2/asset/changes", start=a["uplynk_from_ms"])["changes"]
    created = {c[2] for c in feed if c[1] == "create"}
    assert created == set(a["created_ids"])
    assert sum(c[1] == "update" for c in feed) >= 1
    assert {c[1] for c in feed} <= {"create", "update", "delete"}

    fresh_sandbox.config(create_action=False)  # the default: a create is an "update"
    feed = up.ok("/api2/asset/changes", start=a["uplynk_from_ms"])["changes"]
    assert "create" not in {c[1] for c in feed}
    assert set(a["created_ids"]) <= {c[2] for c in feed if c[1] == "update"}


# ------------------------------------------------------------------ numbers as strings


def test_numbers_as_strings_are_served_stringly_and_the_export_says_which(fresh_sandbox, up):
    fresh_sandbox.reset(seed=7, assets=2000, numbers_as_strings=0.3)
    live, _ = catalog(fresh_sandbox)
    flagged = [r for r in live if r.get("served_as_strings")]
    assert 0.2 < len(flagged) / len(live) < 0.4
    by_id = {r["id"]: r for r in live}
    served = []
    for skip in range(0, 600, 100):
        served += up.ok("/api2/asset/list", skip=skip, limit=100)["assets"]
    served += up.ok("/api2/asset/get", ids=[r["id"] for r in flagged[:50]])["assets"]
    n_strings = 0
    for asset in served:
        row = by_id[asset["id"]]
        for f in STRING_FIELDS:  # the export holds the numbers the strings mean
            assert isinstance(row[f], int | float) and not isinstance(row[f], bool)
        if row.get("served_as_strings"):
            n_strings += 1
            for f in STRING_FIELDS:
                assert isinstance(asset[f], str), (f, asset[f])
                assert float(asset[f]) == row[f]
            assert asset["created"] == str(row["created"])
        else:
            assert all(not isinstance(asset[f], str) for f in STRING_FIELDS)
        assert {k: v for k, v in asset.items() if k not in STRING_FIELDS} == {
            k: v for k, v in row.items() if k not in STRING_FIELDS + NOT_SERVED
        }
    assert n_strings >= 50

    fresh_sandbox.config(numbers_as_strings=0)
    again = up.ok("/api2/asset/get", id=flagged[0]["id"])["asset"]
    assert all(not isinstance(again[f], str) for f in STRING_FIELDS)
    assert not any("served_as_strings" in r for r in fresh_sandbox.expected_uplynk())


def test_changes_assets_are_served_stringly_too(fresh_sandbox, up):
    fresh_sandbox.reset(seed=7, assets=2000, numbers_as_strings=1.0)
    a = fresh_sandbox.advance(60, updates=20)
    page = up.ok("/api2/asset/changes", start=a["uplynk_from_ms"])
    assert page["assets"]
    for asset in page["assets"].values():
        assert all(isinstance(asset[f], str) for f in STRING_FIELDS)


# ------------------------------------------------------------------ knobs


def test_knobs_are_checked_and_reported(fresh_sandbox):
    for bad in (
        {"get_unknown": "maybe"},
        {"numbers_as_strings": 1.5},
        {"create_action": "sometimes"},
        {"uplynk_clock_offset_s": "soon"},
        {"changes_page_size": 0},
    ):
        with pytest.raises(RuntimeError, match="400"):
            fresh_sandbox.reset(seed=7, assets=100, **bad)
        with pytest.raises(RuntimeError, match="400"):
            fresh_sandbox.config(**bad)
    with pytest.raises(RuntimeError, match="not live-settable"):
        fresh_sandbox.config(malformed_fraction=0.1)
    info = fresh_sandbox.reset(seed=7, assets=100, get_unknown="error", create_action=True)
    assert info["get_unknown"] == "error" and info["create_action"] is True
    info = fresh_sandbox.config(cap_changes_per_ms=False, numbers_as_strings=0.5)
    assert info["cap_changes_per_ms"] is False and info["numbers_as_strings"] == 0.5
    assert info["get_unknown"] == "error" and info["uplynk_clock_offset_s"] == 0.0
