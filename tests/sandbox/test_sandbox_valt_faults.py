"""Faults and response defects reach VALT's API (vendor "valt") and its CDN ("valt-cdn")."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from .valt_client import Valt


@pytest.fixture
def valt(fresh_sandbox):
    c = Valt(fresh_sandbox.env)
    yield c
    fresh_sandbox.clear_faults()
    fresh_sandbox.clear_defects()
    c.close()


@pytest.fixture
def video(fresh_sandbox):
    row = next(r for r in fresh_sandbox.expected_valt() if not r["deleted"])
    return row["id"], row["videos"][0]


def test_faults_scoped_to_valt_hit_the_api_and_not_the_cdn(valt, fresh_sandbox, video):
    rid, v = video
    url = valt.download_url(rid, v["id"])
    valt.login()
    fresh_sandbox.faults(scope="valt", p_503=1.0)
    assert valt.records({}).status_code == 503
    assert valt.details(rid).status_code == 503
    r = valt.http.get(url)
    assert r.status_code == 200 and hashlib.sha256(r.content).hexdigest() == v["sha256"]
    fresh_sandbox.faults(scope="valt-cdn", p_500=1.0)
    assert valt.http.get(url).status_code == 500
    assert valt.records({}).status_code == 200


def test_a_truncated_cdn_body_stops_mid_stream_and_resumes_with_range(valt, fresh_sandbox, video):
    rid, v = video
    url = valt.download_url(rid, v["id"])
    fresh_sandbox.faults(scope="valt-cdn", p_truncate=1.0)
    got = bytearray()
    with pytest.raises(httpx.RemoteProtocolError), valt.http.stream("GET", url) as r:
        assert r.status_code == 200
        assert int(r.headers["content-length"]) == v["bytes"]  # the headers stay the vendor's
        for chunk in r.iter_raw():
            got += chunk
    assert 0 < len(got) < v["bytes"]
    fresh_sandbox.clear_faults()
    rest = valt.http.get(url, headers={"Range": f"bytes={len(got)}-"})
    assert hashlib.sha256(bytes(got) + rest.content).hexdigest() == v["sha256"]
    kinds = {(f["vendor"], f["kind"]): f["count"] for f in fresh_sandbox.stats()["faults"]}
    assert kinds == {("valt-cdn", "truncate"): 1}


def test_an_error_envelope_with_200_is_valts_own(valt, fresh_sandbox):
    valt.login()
    fresh_sandbox.defects(kind="error_envelope_200", vendor="valt", path="/valt/api/v3/records")
    r = valt.records({})
    body = r.json()
    assert r.status_code == 200 and set(body) == {"error"}
    assert isinstance(body["error"], dict), f"not VALT's envelope: {body}"
    assert body["error"]["code"] == 500 and body["error"]["message"]


def test_body_defects_rewrite_the_api_and_leave_the_cdn_bytes_alone(valt, fresh_sandbox, video):
    rid, v = video
    url = valt.download_url(rid, v["id"])
    valt.login()
    fresh_sandbox.defects(kind="bom", vendor="all")
    r = valt.http.get(url)
    assert hashlib.sha256(r.content).hexdigest() == v["sha256"]  # not buffered, not changed
    assert valt.records({}).content.startswith(b"\xef\xbb\xbf")  # the API's JSON is
    assert fresh_sandbox.defects_status()[0]["applied"] == 1


def test_request_counters_collapse_ids_in_cdn_paths(valt, fresh_sandbox, video):
    rid, v = video
    for _ in range(2):
        valt.http.head(valt.download_url(rid, v["id"]))
    paths = {(r["vendor"], r["path"]) for r in fresh_sandbox.stats()["requests"]}
    assert ("valt-cdn", "/valt-cdn/distribution/{id}/{n}_{id}_{n}.mp4") in paths
    assert ("valt", "/valt/api/v3/records/download/{id}/{id}") in paths
