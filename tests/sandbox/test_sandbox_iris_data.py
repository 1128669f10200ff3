"""The IRIS_ID data API (204 for an unknown id, NOT_AVAILABLE, keywords as string or list)
and the source_url refresh under the vendor's rules, with its violation counters."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from .iris_client import Iris

RECORD_KEYS = [
    "iris_id",
    "title",
    "description",
    "source_url",
    "thumbnail_url",
    "closed_caption_url",
    "length_secs",
    "source_keywords",
    "billing_id",
]


@pytest.fixture
def iris(fresh_sandbox):
    c = Iris(fresh_sandbox.env)
    yield c
    c.close()


@pytest.fixture
def rows(fresh_sandbox):
    return list(fresh_sandbox.expected_iris(number=0))


def first(rows, **where):
    return next(r for r in rows if all(r[k] == v for k, v in where.items()))


def expires_of(url: str) -> int:
    return int(parse_qs(urlsplit(url).query)["expires"][0])


def test_every_record_is_served_as_the_ground_truth_says(iris, rows):
    for r in rows[::7]:
        got = iris.asset(r["iris_id"])
        assert got.status_code == 200
        assert list(got.json()) == RECORD_KEYS
        assert got.json() == {k: r[k] for k in RECORD_KEYS}
    kinds = {r["source_url_kind"] for r in rows}
    assert kinds == {
        "live",
        "expired",
        "gone_404",
        "gone_410",
        "forbidden",
        "slow",
        "redirect",
        "not_available",
    }
    assert all(r["source_url"] == "NOT_AVAILABLE" for r in rows if r["expires"] is None)
    styles = {type(r["source_keywords"]) for r in rows}
    assert styles == {str, list}
    only = [r for r in rows if r["canonical_index"] is None]
    assert only and all(r["platform_id"] is None for r in only)


def test_an_unknown_iris_id_is_204_with_an_empty_body_and_no_id_is_400(iris, rows):
    r = iris.asset("iris_0000000000000000")
    assert (r.status_code, r.content) == (204, b"")
    assert iris.asset("not-an-iris-id").status_code == 204
    r = iris.get("/v2/context/data_partner/metadata/video_assets")
    assert r.status_code == 400 and r.json()["errors"]


def test_a_refreshable_url_is_renewed_for_url_ttl_s_and_then_served(iris, rows, fresh_sandbox):
    fresh_sandbox.iris_config(url_ttl_s=600)
    r0 = first(rows, source_url_kind="expired", refreshable=True)
    before = int(time.time())
    got = iris.refresh(r0["iris_id"])
    after = int(time.time())
    assert got.status_code == 200 and set(got.json()) == {"iris_id", "source_url"}
    url = got.json()["source_url"]
    assert got.json()["iris_id"] == r0["iris_id"] and url != r0["source_url"]
    assert before + 600 <= expires_of(url) <= after + 600
    assert httpx.head(url).status_code == 200
    assert iris.asset(r0["iris_id"]).json()["source_url"] == url
    now = next(r for r in fresh_sandbox.expected_iris(number=0) if r["iris_id"] == r0["iris_id"])
    assert (now["source_url"], now["source_url_kind"], now["gave_up"]) == (url, "live", False)
    stats = fresh_sandbox.iris_stats()
    assert stats["refreshes"] == {"refreshed": 1} and stats["refresh_violations"] == 0


def test_a_refresh_answered_with_an_expired_url_makes_the_next_one_a_violation(
    iris, rows, fresh_sandbox
):
    r0 = first(rows, source_url_kind="expired", refresh_expired=True)
    url = iris.refresh(r0["iris_id"]).json()["source_url"]
    assert expires_of(url) < time.time()
    assert httpx.head(url).status_code == 403
    assert fresh_sandbox.iris_stats()["refresh_violations"] == 0
    again = iris.refresh(r0["iris_id"])
    assert again.status_code == 200 and expires_of(again.json()["source_url"]) < time.time()
    stats = fresh_sandbox.iris_stats()
    assert stats["refresh_violations_by_reason"] == {"after_expired": 1}
    assert stats["refreshes"] == {"expired": 2} and stats["gave_up"] == 1


def test_a_refresh_for_not_available_is_answered_and_counted(iris, rows, fresh_sandbox):
    r0 = first(rows, source_url_kind="not_available")
    got = iris.refresh(r0["iris_id"])
    assert got.json() == {"iris_id": r0["iris_id"], "source_url": "NOT_AVAILABLE"}
    live = first(rows, source_url_kind="live")
    assert iris.refresh(live["iris_id"]).status_code == 200  # allowed, if wasteful
    stats = fresh_sandbox.iris_stats()
    assert stats["refresh_violations_by_reason"] == {"not_available": 1}
    assert stats["refreshes_before_expiry"] == 1


def test_refresh_errors_400_404_and_500_503_carry_errors_lists(iris, rows, fresh_sandbox):
    r = iris.get("/v2/context/data_partner/metadata/video_assets/source_url")
    assert r.status_code == 400 and isinstance(r.json()["errors"][0], str)
    assert iris.refresh("iris_0000000000000000").status_code == 404
    fresh_sandbox.iris_config(refresh_error_p=1.0)
    statuses = {iris.refresh(rows[0]["iris_id"]).status_code for _ in range(20)}
    assert statuses == {500, 503}
    r = iris.refresh(rows[0]["iris_id"])
    assert list(r.json()) == ["errors"] and r.json()["errors"]
    refreshes = fresh_sandbox.iris_stats()["refreshes"]
    assert refreshes["error_500"] + refreshes["error_503"] == 21
