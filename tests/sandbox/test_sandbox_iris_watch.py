"""IRIS.TV Watch / Next / Update: the vendor samples' JSONP style, the echo, default_recs,
experiences, and the recs_only counter."""

from __future__ import annotations

import pytest

from .iris_client import Iris, read_jsonp

# The Next sample of vendor-docs/iris-player-personalization.txt, verbatim but for its last
# three items (cut).
VENDOR_NEXT_SAMPLE = """jQuery191028397097534104254_1407970311998({
'success': true,
'next': [
{
'iris_id': '51084789cd5f272312231105',
'platform': 'VideoPublisher',
'content_url': 'http://www.credenza.com/asset_6.mp4',
'platform_id': '908JOL',
'title': 'The Grapefruit Theif',
'release_date': '2012-10-22 12:30:58 UTC',
'reviewed': '2013-02-05 23:02:24 UTC',
},
{
'iris_id': '539a5ba7f09c3f00172310bb',
'platform': 'VideoPublisher',
'content_url': 'http://www.credenza.com/asset_7.mp4',
'platform_id': '874KFR'',
'title': 'The Bird Baron Trailer',
'release_date': '2014-06-12 20:51:53 UTC'
}
],
'experience': '53ebec0d321d0690858dw5r1'
})"""


@pytest.fixture
def iris(fresh_sandbox):
    c = Iris(fresh_sandbox.env)
    yield c
    c.close()


@pytest.fixture
def rows(fresh_sandbox):
    return list(fresh_sandbox.expected_iris(number=12))


def watchable(rows):
    return [r for r in rows if r["platform_id"]]


def test_watch_answers_jsonp_in_the_samples_style_echo_first(iris, rows):
    r0 = watchable(rows)[0]
    r = iris.watch(
        r0["platform_id"], number=5, callback="jQuery191028397097534104254_1407970311998"
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    d = read_jsonp(r.text)  # asserts the layout line by line
    assert d["callback"] == "jQuery191028397097534104254_1407970311998"
    assert d["sc"] is True and d["default_recs"] is False
    ids = [it["iris_id"] for it in d["next"]]
    assert ids == [r0["iris_id"], *r0["recommendations"][:5]]
    echo = d["next"][0]
    assert echo["platform_id"] == r0["platform_id"] and echo["title"] == r0["title"]
    assert echo["url"] == r0["source_url"] and echo["thumbnail_url"] == r0["thumbnail_url"]
    assert echo["duration"] == r0["length_secs"] and echo["platform"] == iris.env["IRIS_PLATFORM"]
    tail = "],\n'experience': '" + d["experience"] + "',\n'sc':false\n})"
    assert r.text.endswith(tail)
    assert iris.watch(r0["platform_id"], number=5).text.startswith("callback({\n")


def test_some_items_carry_the_doubled_quote_and_reviewed_items_a_trailing_comma(iris, rows):
    items, text = [], ""
    for r0 in watchable(rows)[:15]:
        r = iris.watch(r0["platform_id"], number=10)
        items += read_jsonp(r.text)["next"]
        text += r.text
    by_id = {r["iris_id"]: r for r in rows}
    doubled = [it for it in items if it["_doubled"]]
    assert doubled and len(doubled) < len(items) / 3  # some, not all
    for it in doubled:
        assert it["_doubled"] == "platform_id"
        assert it["platform_id"] == by_id[it["iris_id"]]["platform_id"]  # the value is intact
        assert f"\n'platform_id': '{it['platform_id']}'',\n" in text
    reviewed = [it for it in items if "reviewed" in it]
    assert reviewed and all(it["_trailing"] for it in reviewed)
    assert all(not it["_trailing"] for it in items if "reviewed" not in it)


def test_an_unknown_platform_id_gets_default_recs_without_an_echo(iris, rows, fresh_sandbox):
    defaults = fresh_sandbox.iris_default_recs(number=6)
    noisy = [r for r in rows if r["platform_id"] and r["platform_id"] != r["platform_id"].strip()]
    exact_of_noisy = noisy[0]["platform_id"].strip()  # IRIS holds " EXT-... ", not "EXT-..."
    for pid in ("EXT-9999999", "nothing-like-an-id", exact_of_noisy):
        d = read_jsonp(iris.watch(pid, number=6).text)
        assert d["default_recs"] is True, pid
        assert [it["iris_id"] for it in d["next"]] == defaults
    assert read_jsonp(iris.watch(noisy[0]["platform_id"], number=1).text)["default_recs"] is False


def test_next_continues_the_experience_and_update_answers_json(iris, rows):
    r0 = watchable(rows)[1]
    d = read_jsonp(iris.watch(r0["platform_id"], number=4).text)
    n1 = read_jsonp(iris.get("/next", experience=d["experience"], number=3, recs_only="true").text)
    n2 = read_jsonp(iris.get("/next", experience=d["experience"], number=5, recs_only="true").text)
    assert n1["sc"] is False and n1["experience"] == d["experience"]
    got = [it["iris_id"] for it in n1["next"] + n2["next"]]
    assert got == r0["recommendations"][4:12]
    u = iris.get(
        "/update",
        experience=d["experience"],
        **{"behavior[play]": 1, "behavior[percentage_watched]": 0.5},
    )
    assert u.status_code == 200
    assert u.json() == {
        "success": True,
        "behavior": {"play": 1, "percentage_watched": 0.5},
        "experience": d["experience"],
    }
    d2 = read_jsonp(iris.watch(r0["platform_id"], number=4).text)
    assert d2["experience"] != d["experience"]  # a new experience on every Watch


@pytest.mark.parametrize("path", ["/next", "/update"])
def test_a_missing_or_unknown_experience_is_400_invalid_experience(iris, path):
    for q in ({}, {"experience": "0" * 24}):
        r = iris.get(path, number=3, recs_only="true", **q)
        assert (r.status_code, r.json()) == (400, {"errors": ["invalid experience"]}), q


def test_number_is_clamped_to_number_max(iris, rows, fresh_sandbox):
    fresh_sandbox.iris_config(number_max=3)
    r0 = watchable(rows)[0]
    d = read_jsonp(iris.watch(r0["platform_id"], number=50).text)
    assert [it["iris_id"] for it in d["next"]] == [r0["iris_id"], *r0["recommendations"][:3]]
    assert iris.watch(r0["platform_id"], number=0).status_code == 400
    assert iris.watch(r0["platform_id"], number=5, platform="SomeoneElse").status_code == 400


def test_every_watch_and_next_without_recs_only_true_is_counted(iris, rows, fresh_sandbox):
    pid = watchable(rows)[0]["platform_id"]
    d = read_jsonp(iris.watch(pid).text)
    iris.get("/next", experience=d["experience"], number=2, recs_only="true")
    assert fresh_sandbox.iris_stats()["recs_only_violations"] == 0
    iris.watch(pid, recs_only="false")
    iris.watch(pid, recs_only="True")
    q = {"platform_id": pid, "platform": iris.env["IRIS_PLATFORM"], "number": 2}
    iris.get("/watch", **q)  # no recs_only at all
    iris.get("/next", experience=d["experience"], number=2)
    stats = fresh_sandbox.iris_stats()
    assert stats["recs_only_violations"] == 4
    assert stats["recs_only_values"] == {"false": 1, "True": 1, "<missing>": 2}


def test_recommendations_follow_the_seed_and_the_assets_version(iris, fresh_sandbox):
    before = {r["iris_id"]: r for r in fresh_sandbox.expected_iris(number=5)}
    fresh_sandbox.reset(seed=7, assets=2000)
    again = {r["iris_id"]: r["recommendations"] for r in fresh_sandbox.expected_iris(number=5)}
    assert again == {k: r["recommendations"] for k, r in before.items()}
    changed = fresh_sandbox.advance(60, updates=300)
    after = {r["iris_id"]: r for r in fresh_sandbox.expected_iris(number=5)}
    moved = [k for k in after if after[k]["recommendations"] != before[k]["recommendations"]]
    assert moved and len(moved) < len(after) / 2, changed
    r0 = after[moved[0]]
    client = Iris(fresh_sandbox.env)
    d = read_jsonp(client.watch(r0["platform_id"], number=5).text)
    client.close()
    assert [it["iris_id"] for it in d["next"][1:]] == r0["recommendations"]


def test_the_sandbox_writes_what_the_vendor_sample_looks_like(iris, rows):
    sample = read_jsonp(VENDOR_NEXT_SAMPLE)  # the same strict reader accepts the vendor's
    assert [it["_doubled"] for it in sample["next"]] == [None, "platform_id"]
    assert [it["_trailing"] for it in sample["next"]] == [True, False]
    sample_keys = [k for k in sample["next"][0] if not k.startswith("_")]
    r0 = watchable(rows)[0]
    d = read_jsonp(iris.watch(r0["platform_id"], number=3).text)
    n = read_jsonp(iris.get("/next", experience=d["experience"], number=3, recs_only="true").text)
    assert (n["sc"], sample["sc"]) == (False, False)
    assert int(d["experience"], 16) >= 0  # ours are 24 hex
    for it in d["next"] + n["next"]:
        keys = [k for k in it if k in sample_keys]  # the sample's keys, in the sample's order
        want = [k for k in sample_keys if k in it]
        assert keys == want, it
        assert {"iris_id", "platform", "title", "url", "thumbnail_url", "duration"} <= set(it)
