"""VALT recording details: every documented field, every retention type, both id styles."""

from __future__ import annotations

import re

import pytest

from .valt_client import NOT_FOUND, Valt, served_details

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@pytest.fixture
def valt(fresh_sandbox):
    c = Valt(fresh_sandbox.env)
    yield c
    c.close()


def test_details_of_every_recording_are_the_ground_truth(valt, fresh_sandbox):
    expected = [r for r in fresh_sandbox.expected_valt(sha256=False) if not r["deleted"]]
    for row in expected:
        r = valt.details(row["id"])
        assert r.status_code == 200, r.text
        assert r.json() == {"data": served_details(row)}


def test_details_carry_every_documented_field_with_its_type(valt):
    for listed in valt.page(limit=40):
        d = valt.details(listed["id"]).json()["data"]
        assert {k: d[k] for k in listed} == listed
        assert isinstance(d["created"], int) and isinstance(d["duration"], int | float)
        assert set(d["author"]) == {"id", "name"} and set(d["room"]) == {"id", "name"}
        assert d["cameras"] and all(isinstance(n, str) for n in d["cameras"].values())
        assert set(d["sharing"]) == {"groups", "users"}
        assert isinstance(d["template"], list)
        for m in d["markers"]:
            assert set(m) == {"id", "event", "time", "color"} and 0 <= m["time"] <= d["duration"]
        assert [v["camera"] for v in d["videos"]] == list(d["cameras"].values())
        for v in d["videos"]:
            assert isinstance(v["id"], str) and v["duration"] == d["duration"]


def test_every_retention_type_appears_with_its_documented_shape(fresh_sandbox):
    rows = list(fresh_sandbox.expected_valt(sha256=False))
    by_type: dict[str, list[dict]] = {}
    for r in rows:
        by_type.setdefault(r["retention"]["type"], []).append(r["retention"])
    assert set(by_type) == {"inherit", "infinitely", "until", "for"}
    assert all(x == {"type": "inherit"} for x in by_type["inherit"])
    assert all(x == {"type": "infinitely"} for x in by_type["infinitely"])
    assert all(
        set(x) == {"type", "until"} and isinstance(x["until"], int) for x in by_type["until"]
    )
    parts = {"days", "hours", "minutes"}
    for x in by_type["for"]:
        assert set(x) - {"type"} <= parts and all(isinstance(x[k], int) for k in set(x) & parts)
    # a part may be absent (= 0): the connector must not require all three
    assert any(set(x) - {"type"} != parts for x in by_type["for"])


def test_unknown_ids_are_404_with_the_rfc_7807_body(valt):
    for rid in ("00000000-0000-4000-8000-000000000000", "12", "not-an-id", "99999999999"):
        r = valt.details(rid)
        assert (r.status_code, r.json()) == (404, NOT_FOUND)


def test_uuid_ids_by_default_and_integer_ids_for_valt_5(valt, fresh_sandbox):
    listed = valt.walk()
    assert all(isinstance(r["id"], str) and UUID.match(r["id"]) for r in listed)
    uuid_truth = {r["valt_id"] for r in fresh_sandbox.truth() if r["valt_id"]}
    assert {r["id"] for r in listed} <= uuid_truth

    fresh_sandbox.valt_config(id_style="int")
    as_ints = valt.walk()
    assert len(as_ints) == len(listed)
    assert all(type(r["id"]) is int for r in as_ints)  # a JSON number, not a string
    keyed = [(r["created"], r["id"]) for r in as_ints]
    assert keyed == sorted(keyed)  # ties on created are ordered numerically
    int_truth = {r["valt_id"] for r in fresh_sandbox.truth() if r["valt_id"]}
    assert {str(r["id"]) for r in as_ints} <= int_truth
    d = valt.details(as_ints[0]["id"]).json()["data"]
    assert d["id"] == as_ints[0]["id"] and all(v["id"].isdigit() for v in d["videos"])
    # the same recordings, renamed ids only: names and dates match position by position
    assert sorted((r["created"], r["name"]) for r in as_ints) == sorted(
        (r["created"], r["name"]) for r in listed
    )
    # a UUID no longer resolves under VALT 5
    assert valt.details(listed[0]["id"]).status_code == 404
