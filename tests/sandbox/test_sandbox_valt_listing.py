"""VALT's recordings listing: order, paging with a server cap, date filters, search, errors.

Expected values: the sandbox's ground truth (``expected_valt``), filtered and ordered in the
test by the contract's rules (created ascending then id; dates inclusive on the UTC date).
"""

from __future__ import annotations

import pytest

from .valt_client import Valt, listed_view, midnight, utc_date


@pytest.fixture
def valt(fresh_sandbox):
    c = Valt(fresh_sandbox.env)
    yield c
    c.close()


def live_expected(sandbox, int_ids: bool = False) -> list[dict]:
    rows = [r for r in sandbox.expected_valt(sha256=False) if not r["deleted"]]
    rows.sort(key=lambda r: (r["created"], r["id"] if int_ids else str(r["id"])))
    return rows


def test_walking_the_listing_gives_every_live_recording_in_created_then_id_order(
    valt, fresh_sandbox
):
    expected = live_expected(fresh_sandbox)
    assert len(expected) > 300
    got = valt.walk(limit=37)
    assert [r["id"] for r in got] == [r["id"] for r in expected]
    assert got == [listed_view(r) for r in expected]


def test_a_limit_over_the_cap_is_clamped_and_the_default_limit_is_50(valt, fresh_sandbox):
    assert len(valt.page(limit=500)) == 100
    assert len(valt.page()) == 50
    fresh_sandbox.valt_config(list_cap=20)
    first = valt.page(limit=500)
    assert len(first) == 20
    assert valt.page(limit=500, offset=20)[0]["id"] == live_expected(fresh_sandbox)[20]["id"]
    # paging "until a page is shorter than the cap" still reaches every recording
    assert len(valt.walk(limit=20)) == len(live_expected(fresh_sandbox))


def test_date_filters_are_inclusive_utc_dates_of_created(valt, fresh_sandbox):
    expected = live_expected(fresh_sandbox)
    mid = expected[len(expected) // 2]
    start, end = utc_date(expected[10]["created"]), utc_date(mid["created"])
    lo, hi = midnight(start), midnight(end) + 86400
    want = [r["id"] for r in expected if lo <= r["created"] < hi]
    got = valt.walk(limit=50, start_date=start, end_date=end)
    assert [r["id"] for r in got] == want
    # the first and the last day are both in: records on exactly those dates are listed
    assert utc_date(got[0]["created"]) == start and utc_date(got[-1]["created"]) == end
    one_day = valt.walk(limit=50, start_date=end, end_date=end)
    assert [r["id"] for r in one_day] == [
        r["id"] for r in expected if utc_date(r["created"]) == end
    ]
    since = valt.walk(start_date=end)
    assert since == [listed_view(r) for r in expected if r["created"] >= midnight(end)]
    before = valt.walk(end_date=start)
    assert [r["id"] for r in before] == [r["id"] for r in expected if r["created"] < lo + 86400]


def test_search_is_a_case_insensitive_substring_of_the_name(valt, fresh_sandbox):
    expected = live_expected(fresh_sandbox)
    word = expected[3]["name"].split()[1]  # a word of some title
    want = [r["id"] for r in expected if word.lower() in r["name"].lower()]
    assert 1 <= len(want) < len(expected)
    got = valt.walk(limit=10, search=word.upper())
    assert [r["id"] for r in got] == want


def test_filter_is_accepted_and_ignored(valt, fresh_sandbox):
    assert valt.page(limit=5, filter={"room": 3}) == valt.page(limit=5)


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b'{"limit": 10,}',
        b"[1, 2, 3]",
        b'{"start_date": "2024-11-05"}',
        b'{"end_date": "02-30-2025"}',
        b'{"limit": -1}',
        b'{"offset": "ten"}',
        b'{"search": 12}',
    ],
)
def test_a_malformed_body_is_500_with_the_error_envelope(valt, content):
    r = valt.records(content=content)
    assert r.status_code == 500
    error = r.json()["error"]
    assert error["code"] == 500 and error["message"]


def test_no_body_lists_from_the_start(valt, fresh_sandbox):
    r = valt.records()
    assert r.status_code == 200
    first = live_expected(fresh_sandbox)[:50]
    assert [x["id"] for x in r.json()["data"]["records"]] == [x["id"] for x in first]
