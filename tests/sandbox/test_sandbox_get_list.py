"""/api2/asset/get forms and limits; /api2/asset/list paging, order and query."""

from __future__ import annotations

import pytest

from .uplynk_client import Uplynk


@pytest.fixture
def up(fresh_sandbox):
    c = Uplynk(fresh_sandbox.env)
    yield c
    c.close()


@pytest.fixture
def catalog(fresh_sandbox):
    return list(fresh_sandbox.expected_uplynk())


def test_get_single_by_id_and_external_id(up, catalog):
    live = [r for r in catalog if "deleted" not in r and r["external_id"]]
    r = live[3]
    a = up.ok("/api2/asset/get", id=r["id"])["asset"]
    b = up.ok("/api2/asset/get", external_id=r["external_id"])["asset"]
    expected = {k: v for k, v in r.items() if k not in ("malformed", "_index")}
    assert a == b == expected
    assert "assets" not in up.ok("/api2/asset/get", id=r["id"])


def test_get_lists_skip_unknown_deleted_and_duplicates(up, catalog):
    live = [r["id"] for r in catalog if "deleted" not in r][:10]
    dead = [r["id"] for r in catalog if "deleted" in r][:3]
    assert dead
    ids = live + live[:4] + dead + ["f" * 32, "not-an-id"]
    got = up.ok("/api2/asset/get", ids=ids)["assets"]
    assert [a["id"] for a in got] == live
    exts = [r["external_id"] for r in catalog if "deleted" not in r and r["external_id"]][:5]
    got = up.ok("/api2/asset/get", external_ids=exts + exts + ["EXT-nope"])["assets"]
    assert [a["external_id"] for a in got] == exts


def test_get_needs_exactly_one_form_and_at_most_1000(up, catalog):
    r = catalog[0]
    assert up.call("/api2/asset/get")["error"] == 1
    assert up.call("/api2/asset/get", id=r["id"], external_id=r["external_id"])["error"] == 1
    assert up.call("/api2/asset/get", id=r["id"], ids=[r["id"]])["error"] == 1
    ids = [x["id"] for x in catalog[:1001]]
    assert up.call("/api2/asset/get", ids=ids)["error"] == 1
    assert up.ok("/api2/asset/get", ids=ids[:1000])["assets"]


def test_get_unknown_or_deleted_single_is_an_error(up, catalog):
    dead = next(r for r in catalog if "deleted" in r)
    for params in ({"id": dead["id"]}, {"id": "0" * 32}, {"external_id": "EXT-x"}):
        d = up.call("/api2/asset/get", **params)
        assert d["error"] == 1 and d["msg"]


def test_list_pages_cover_every_live_asset_once_in_created_order(up, catalog):
    live = [r for r in catalog if "deleted" not in r]
    got, skip = [], 0
    while True:
        page = up.ok("/api2/asset/list", skip=skip, limit=100)["assets"]
        got += page
        if len(page) < 100:
            break
        skip += 100
    assert sorted(a["id"] for a in got) == sorted(r["id"] for r in live)
    created = [a["created"] for a in got]
    assert created == sorted(created)


def test_list_limit_bounds_and_default(up):
    assert len(up.ok("/api2/asset/list")["assets"]) == 100
    assert len(up.ok("/api2/asset/list", limit=1)["assets"]) == 1
    for bad in (0, 101, -5, "x"):
        assert up.call("/api2/asset/list", limit=bad)["error"] == 1


@pytest.mark.parametrize(
    "order,key,rev",
    [
        ("-created", "created", True),
        ("lastmod", "lastmod", False),
        ("-duration", "duration", True),
        ("desc", "desc", False),
        ("id", "id", False),
        ("-external_id", "external_id", True),
        ("state", "state", False),
    ],
)
def test_list_order(up, order, key, rev):
    page = up.ok("/api2/asset/list", order=order, limit=100, skip=200)["assets"]
    vals = [a[key] for a in page]
    assert vals == sorted(vals, reverse=rev)


def test_list_order_composite_and_unknown(up):
    page = up.ok("/api2/asset/list", order="state,-created", limit=100)["assets"]
    keys = [(a["state"], -a["created"]) for a in page]
    assert keys == sorted(keys)
    assert up.call("/api2/asset/list", order="colour")["error"] == 1


def test_list_query_matches_desc_id_or_external_id(up, catalog):
    live = [r for r in catalog if "deleted" not in r]
    word = live[0]["desc"].split()[0].lower()
    page = up.ok("/api2/asset/list", query=word, limit=100)["assets"]
    assert page and all(word in a["desc"].lower() for a in page)
    ext = live[5]["external_id"] or live[6]["external_id"]
    page = up.ok("/api2/asset/list", query=ext)["assets"]
    assert ext in {a["external_id"] for a in page}
    page = up.ok("/api2/asset/list", search=live[7]["id"][:12])["assets"]
    assert live[7]["id"] in {a["id"] for a in page}
