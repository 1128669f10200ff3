"""VALT download URLs and the CDN: URL shapes, the JWT's lifetime, deterministic bytes with
Range, HEAD, refusal after ``exp``, interrupted bodies. Expected bytes and hashes come from
the sandbox's ground truth (``expected_valt``)."""

from __future__ import annotations

import hashlib
import re
import time
from urllib.parse import parse_qs, unquote_plus, urlsplit

import httpx
import pytest

from .valt_client import NOT_FOUND, URL_EXPIRED, Valt, jwt_parts


@pytest.fixture
def valt(fresh_sandbox):
    c = Valt(fresh_sandbox.env)
    yield c
    c.close()


@pytest.fixture
def rows(fresh_sandbox):
    """Live expected recordings with two or more videos first (bytes and sha256 included)."""
    live = [r for r in fresh_sandbox.expected_valt() if not r["deleted"]]
    return sorted(live, key=lambda r: -len(r["videos"]))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_the_url_sits_at_the_top_level_or_under_data_as_the_knob_says(valt, fresh_sandbox, rows):
    rid, vid = rows[0]["id"], rows[0]["videos"][0]["id"]
    shapes = [set(valt.download(rid, vid).json()) for _ in range(4)]
    assert shapes == [{"url"}, {"data"}, {"url"}, {"data"}]  # "mixed": alternating
    fresh_sandbox.valt_config(download_shape="data")
    assert [set(valt.download(rid, vid).json()) for _ in range(2)] == [{"data"}, {"data"}]
    assert set(valt.download(rid, vid).json()["data"]) == {"url"}
    fresh_sandbox.valt_config(download_shape="top")
    assert [set(valt.download(rid, vid).json()) for _ in range(2)] == [{"url"}, {"url"}]


def test_the_url_names_the_video_on_the_cdn_with_a_jwt_living_download_ttl_s(
    valt, fresh_sandbox, rows
):
    row = rows[0]
    rid = row["id"]
    for n, video in enumerate(row["videos"], 1):
        url = valt.download_url(rid, video["id"])
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}" == fresh_sandbox.base_url
        assert parts.path == f"/valt-cdn/distribution/{rid}/{n}_{rid}_{n}.mp4"
        query = parse_qs(parts.query)
        assert set(query) == {"filename", "access_token"}
        assert unquote_plus(query["filename"][0]).startswith(row["name"] + " ")
        header, payload = jwt_parts(url)
        assert header == {"typ": "JWT", "alg": "HS256"}
        assert set(payload) == {"iat", "nbf", "exp", "iss", "sub", "aud"}
        assert payload["exp"] - payload["iat"] == 1800
        assert abs(payload["iat"] - time.time()) < 60  # the real clock, not the simulated one
    fresh_sandbox.valt_config(download_ttl_s=90)
    _, payload = jwt_parts(valt.download_url(rid, row["videos"][0]["id"]))
    assert payload["exp"] - payload["iat"] == 90
    assert fresh_sandbox.valt_tokens()["url_tokens"][-1] in valt.download_url(rid, video["id"])


def test_unknown_record_or_video_is_404(valt, rows):
    rid, vid = rows[0]["id"], rows[0]["videos"][0]["id"]
    for a, b in ((rid, "nope"), (rid, rows[1]["videos"][0]["id"]), ("12", vid)):
        r = valt.download(a, b)
        assert (r.status_code, r.json()) == (404, NOT_FOUND)


def test_a_full_get_serves_the_expected_bytes_and_head_their_length(valt, fresh_sandbox, rows):
    for video in rows[0]["videos"]:
        url = valt.download_url(rows[0]["id"], video["id"])
        r = valt.http.get(url)
        assert r.status_code == 200
        assert int(r.headers["content-length"]) == len(r.content) == video["bytes"]
        assert sha(r.content) == video["sha256"]
        h = valt.http.head(url)
        assert h.status_code == 200 and h.content == b""
        assert int(h.headers["content-length"]) == video["bytes"]
        assert h.headers["accept-ranges"] == "bytes"
    only = list(fresh_sandbox.expected_valt(ids=[rows[0]["id"]]))
    assert only == [rows[0]]  # the ground truth of chosen recordings only
    sizes = [v["bytes"] for r in rows for v in r["videos"]]
    assert all(131_072 <= s <= 393_216 for s in sizes) and len(set(sizes)) > len(sizes) // 2


def test_range_requests_resume_to_the_same_sha256(valt, fresh_sandbox, rows):
    video = rows[0]["videos"][0]
    url = valt.download_url(rows[0]["id"], video["id"])
    size = video["bytes"]
    head = valt.http.get(url, headers={"Range": "bytes=0-99999"})
    assert head.status_code == 206 and len(head.content) == 100_000
    assert head.headers["content-range"] == f"bytes 0-99999/{size}"
    rest = valt.http.get(url, headers={"Range": "bytes=100000-"})
    assert rest.status_code == 206 and len(rest.content) == size - 100_000
    assert rest.headers["content-range"] == f"bytes 100000-{size - 1}/{size}"
    assert sha(head.content + rest.content) == video["sha256"]
    middle = valt.http.get(url, headers={"Range": "bytes=65530-65545"})
    assert middle.content == (head.content + rest.content)[65530:65546]
    tail = valt.http.get(url, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == rest.content[-10:]
    for bad in (f"bytes={size}-", f"bytes={size + 5}-{size + 9}"):
        r = valt.http.get(url, headers={"Range": bad})
        assert r.status_code == 416 and r.headers["content-range"] == f"bytes */{size}"
    ignored = valt.http.get(url, headers={"Range": "bytes=0-1,5-9"})  # several: whole file
    assert ignored.status_code == 200 and sha(ignored.content) == video["sha256"]
    stats = fresh_sandbox.valt_stats()
    assert stats["cdn_range_requests"] == 7
    assert stats["cdn_bytes_served"] == 2 * size + 16 + 10


def test_the_cdn_refuses_a_url_after_exp_and_a_forged_token(valt, fresh_sandbox, rows):
    fresh_sandbox.valt_config(download_ttl_s=1)
    url = valt.download_url(rows[0]["id"], rows[0]["videos"][0]["id"])
    forged = re.sub(r"access_token=([^&]+)\.[^.&]+", r"access_token=\1.AAAA", url)
    r = valt.http.get(forged)
    assert (r.status_code, r.json()) == (403, URL_EXPIRED)
    r = valt.http.get(url.split("&access_token=")[0])
    assert (r.status_code, r.json()) == (403, URL_EXPIRED)
    time.sleep(1.5)
    r = valt.http.get(url)
    assert r.status_code == 403, "a URL past its exp must be refused"
    assert r.json() == URL_EXPIRED
    assert fresh_sandbox.valt_stats()["responses_403"] == 3


def test_a_url_of_a_recording_deleted_since_is_404(valt, fresh_sandbox, rows):
    url = valt.download_url(rows[0]["id"], rows[0]["videos"][0]["id"])
    fresh_sandbox.valt_churn(delete_ids=[rows[0]["id"]])
    r = valt.http.get(url)
    assert r.status_code == 404, "the CDN must not serve a deleted recording"
    assert r.json() == NOT_FOUND


def test_a_cut_connection_resumes_with_range_to_the_same_sha256(valt, fresh_sandbox, rows):
    fresh_sandbox.valt_config(cdn_drop_after_bytes=70_000, cdn_drop_times=1)
    video = rows[0]["videos"][0]
    url = valt.download_url(rows[0]["id"], video["id"])
    got = bytearray()
    with pytest.raises(httpx.RemoteProtocolError), valt.http.stream("GET", url) as r:
        assert r.status_code == 200
        for chunk in r.iter_raw():
            got += chunk
    assert len(got) == 70_000
    r = valt.http.get(url, headers={"Range": f"bytes={len(got)}-"})
    assert r.status_code == 206
    assert sha(bytes(got) + r.content) == video["sha256"]
    assert fresh_sandbox.valt_stats()["cdn_dropped"] == 1


def test_video_bytes_scales_every_video(valt, fresh_sandbox):
    fresh_sandbox.valt_config(video_bytes=2_000_000)
    row = next(r for r in fresh_sandbox.expected_valt() if not r["deleted"])
    video = row["videos"][0]
    assert 1_000_000 <= video["bytes"] <= 3_000_000
    r = valt.http.get(valt.download_url(row["id"], video["id"]))
    assert len(r.content) == video["bytes"] and sha(r.content) == video["sha256"]
