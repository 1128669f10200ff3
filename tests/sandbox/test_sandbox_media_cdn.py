"""The media CDN: IRIS source URLs and Uplynk mp4_urls, each kind answering as the ground
truth says, HEAD and Range GET, tokens and expiry, and Uplynk's mp4_url pointing at it."""

from __future__ import annotations

import threading
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from .uplynk_client import Uplynk

STATUS = {
    "live": 200,
    "slow": 200,
    "gone_404": 404,
    "gone_410": 410,
    "forbidden": 403,
    "expired": 403,
    "redirect": 302,
}


@pytest.fixture
def media(fresh_sandbox):
    fresh_sandbox.iris_config(slow_s=0.05)
    return list(fresh_sandbox.expected_media())


@pytest.fixture
def http():
    with httpx.Client(timeout=10.0) as c:
        yield c


def per_kind(media, system, n=3):
    out: dict[str, list[dict]] = {}
    for m in media:
        if m["system"] == system and len(out.setdefault(m["kind"], [])) < n:
            out[m["kind"]].append(m)
    return out


@pytest.mark.parametrize("system", ["iris", "uplynk"])
def test_every_kind_answers_head_and_a_one_byte_range_get_as_the_truth_says(
    media, http, system, fresh_sandbox
):
    kinds = per_kind(media, system)
    wanted = set(STATUS) - ({"expired"} if system == "uplynk" else set())
    assert set(kinds) == wanted
    for kind, rows in kinds.items():
        for m in rows:
            head = http.head(m["url"])
            get = http.get(m["url"], headers={"Range": "bytes=0-0"})
            want = STATUS[kind]
            assert (head.status_code, get.status_code) == (
                want,
                206 if want == 200 else want,
            ), m
            if kind == "expired":
                assert get.text == "Expired"
            if want == 200:
                size = int(head.headers["content-length"])
                assert head.content == b"" and len(get.content) == 1
                assert get.headers["content-range"] == f"bytes 0-0/{size}"
    cdn = fresh_sandbox.media_stats()
    assert cdn["systems"] == {system: 2 * sum(len(v) for v in kinds.values())}


def test_a_redirect_leads_to_a_live_copy(media, http):
    for system in ("iris", "uplynk"):
        m = per_kind(media, system)["redirect"][0]
        r = http.get(m["url"], headers={"Range": "bytes=0-0"}, follow_redirects=True)
        assert r.status_code == 206 and len(r.history) == 1
        assert r.history[0].headers["location"].startswith(m["url"].split("/media-cdn/")[0])


def test_ranges_are_slices_of_the_same_deterministic_body(media, http, fresh_sandbox):
    m = per_kind(media, "iris")["live"][0]
    full = http.get(m["url"])
    assert full.status_code == 200 and full.content[4:8] == b"ftyp"
    size = len(full.content)
    assert size == int(http.head(m["url"]).headers["content-length"])
    for rng, want in (
        ("bytes=100-199", full.content[100:200]),
        ("bytes=70000-", full.content[70000:]),
        ("bytes=-10", full.content[-10:]),
    ):
        r = http.get(m["url"], headers={"Range": rng})
        assert (r.status_code, r.content) == (206, want), rng
    past = http.get(m["url"], headers={"Range": f"bytes={size}-"})
    assert past.status_code == 416 and past.headers["content-range"] == f"bytes */{size}"
    assert http.get(m["url"], headers={"Range": "bytes=0-1,5-6"}).status_code == 200
    fresh_sandbox.reset(seed=7, assets=2000)
    again = next(x for x in fresh_sandbox.expected_media() if x["id"] == m["id"])
    assert http.get(again["url"]).content == full.content


def test_a_forged_token_or_a_moved_expiry_is_forbidden(media, http):
    m = per_kind(media, "iris")["live"][0]
    parts = urlsplit(m["url"])
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    base = m["url"].split("?")[0]
    for bad in (
        {**q, "token": "0" * 32},
        {**q, "expires": str(int(q["expires"]) + 3600)},
        {"expires": q["expires"]},
    ):
        r = http.get(base + "?" + urlencode(bad), headers={"Range": "bytes=0-0"})
        assert (r.status_code, r.text) == (403, "Forbidden"), bad
    assert http.head(base.replace("/iris/iris_", "/iris/iris_0")).status_code == 404


def test_a_url_whose_expires_passes_answers_403_expired(http, fresh_sandbox):
    fresh_sandbox.iris_config(url_ttl_s=2)
    rows = list(fresh_sandbox.expected_iris(number=0))
    r0 = next(r for r in rows if r["source_url_kind"] == "expired" and r["refreshable"])
    with httpx.Client() as c:
        env = fresh_sandbox.env
        tok = c.post(
            env["IRIS_BASE_URL"] + "/oauth/access_token",
            data={
                "grant_type": "none",
                "client_id": env["IRIS_CLIENT_ID"],
                "client_secret": env["IRIS_CLIENT_SECRET"],
                "scope": "iris_tv",
            },
        ).json()["access_token"]
        url = c.get(
            env["IRIS_BASE_URL"] + "/v2/context/data_partner/metadata/video_assets/source_url",
            params={
                "iris_id": r0["iris_id"],
                "access_token": tok,
                "client_token": env["IRIS_CLIENT_TOKEN"],
            },
        ).json()["source_url"]
    first = http.head(url).status_code
    expires = int(parse_qs(urlsplit(url).query)["expires"][0])
    time.sleep(max(0.0, expires - time.time()) + 0.05)
    r = http.get(url, headers={"Range": "bytes=0-0"})
    assert (first, r.status_code, r.text) == (200, 403, "Expired")


def test_a_slow_url_answers_only_after_slow_s(media, fresh_sandbox):
    m = per_kind(media, "uplynk")["slow"][0]
    fresh_sandbox.iris_config(slow_s=2.0)
    with httpx.Client(timeout=0.5) as c, pytest.raises(httpx.ReadTimeout):
        c.head(m["url"])
    fresh_sandbox.iris_config(slow_s=0.0)
    with httpx.Client(timeout=0.5) as c:
        assert c.head(m["url"]).status_code == 200


def test_head_405_share_refuses_head_but_not_range_get(media, http, fresh_sandbox):
    fresh_sandbox.media_config(head_405_share=1.0)
    rows = list(fresh_sandbox.expected_media())
    assert not any(r["head_allowed"] for r in rows)
    m = per_kind(rows, "uplynk")["live"][0]
    assert http.head(m["url"]).status_code == 405
    assert http.get(m["url"], headers={"Range": "bytes=0-0"}).status_code == 206


def test_uplynk_serves_mp4_urls_on_the_cdn_exactly_as_the_ground_truth_says(
    media, http, fresh_sandbox
):
    up = Uplynk(fresh_sandbox.env)
    try:
        served = up.ok("/api2/asset/list", limit=100)["assets"]
    finally:
        up.close()
    truth = {r["id"]: r["mp4_url"] for r in fresh_sandbox.expected_uplynk()}
    cdn = {m["id"]: m["url"] for m in media if m["system"] == "uplynk"}
    assert len(truth) == len(cdn) == fresh_sandbox.world()["assets"]
    base = fresh_sandbox.base_url
    for a in served:
        assert a["mp4_url"] == truth[a["id"]] == cdn[a["id"]]
        assert a["mp4_url"] == f"{base}/media-cdn/uplynk/{a['id']}/video.mp4"


def test_a_deleted_uplynk_asset_is_gone_from_the_cdn(http, fresh_sandbox):
    deleted = fresh_sandbox.uplynk_burst(deletes=5)["deleted_ids"]
    urls = {m["id"]: m for m in fresh_sandbox.expected_media() if m["system"] == "uplynk"}
    for aid in deleted:
        assert urls[aid]["kind"] == "gone_404"
        assert http.head(urls[aid]["url"]).status_code == 404


def test_the_cdn_counts_statuses_and_requests_in_flight(media, fresh_sandbox):
    fresh_sandbox.iris_config(slow_s=0.3)
    fresh_sandbox.iris_reset_stats()
    slow = per_kind(media, "uplynk", n=4)["slow"]
    assert len(slow) == 4
    threads = [threading.Thread(target=httpx.head, args=(m["url"],)) for m in slow]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cdn = fresh_sandbox.iris_stats()["cdn"]
    assert cdn["statuses"] == {"200": 4} and cdn["methods"] == {"HEAD": 4}
    assert 2 <= cdn["max_in_flight"] <= 4 and cdn["in_flight"] == 0
