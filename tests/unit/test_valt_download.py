"""Streaming a video from the CDN (httpx.MockTransport): resume with Range from a .part,
the sha256 of the whole file, a connection cut mid-body, a 403 answered by one new URL, a
server that ignores ranges, a 416 for a part already complete; the token never in errors."""

from __future__ import annotations

import asyncio
import hashlib
import re

import httpx
import pytest

from connector.http import Redactor, RetryPolicy
from connector.valt.client import MintedUrl
from connector.valt.download import CdnDownloader, DownloadError, VideoGone

BODY = bytes(range(256)) * 400  # 102,400 bytes
FAST = RetryPolicy(max_attempts=3, initial_wait_s=0.001, max_wait_s=0.01, jitter=False)
_RANGE = re.compile(r"bytes=(\d+)-$")


def minted(n: int, expires_at_ms: int | None = None) -> MintedUrl:
    token = f"jwt-token-number-{n}-abcdef"
    url = f"http://cdn.test/distribution/r/1_r_1.mp4?filename=f.mp4&access_token={token}"
    return MintedUrl(url, url.split("&access_token")[0], expires_at_ms, 0)


class Cut(httpx.AsyncByteStream):
    """A body that stops after ``n`` bytes with the connection lost."""

    def __init__(self, data: bytes, n: int) -> None:
        self.data, self.n = data, n

    async def __aiter__(self):
        yield self.data[: self.n]
        raise httpx.RemoteProtocolError("peer closed connection without sending complete body")


class FakeCdn:
    """Serves BODY with Range; ``script`` gives per-request overrides, in order."""

    def __init__(self, *script, valid_tokens=None):
        self.script = list(script)
        self.valid = valid_tokens
        self.ranges: list[str | None] = []
        self.tokens: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.ranges.append(request.headers.get("range"))
        token = request.url.params.get("access_token")
        self.tokens.append(token)
        how = self.script.pop(0) if self.script else "ok"
        if how == "403" or (self.valid is not None and token not in self.valid):
            return httpx.Response(403, json={"error": {"code": 403, "message": "URL expired"}})
        m = _RANGE.match(request.headers.get("range") or "")
        first = int(m.group(1)) if m else 0
        if first >= len(BODY):
            return httpx.Response(416, headers={"content-range": f"bytes */{len(BODY)}"})
        if how == "ignore-range":
            return httpx.Response(
                200, headers={"content-length": str(len(BODY))}, stream=httpx.ByteStream(BODY)
            )
        part = BODY[first:]
        headers = {
            "content-range": f"bytes {first}-{len(BODY) - 1}/{len(BODY)}",
            "content-length": str(len(part)),
        }
        if how.startswith("cut:"):
            return httpx.Response(206, headers=headers, stream=Cut(part, int(how[4:])))
        return httpx.Response(206, headers=headers, stream=httpx.ByteStream(part))


def fetch(cdn, tmp_path, *, part: bytes | None = None, mints=None, first=None):
    final = tmp_path / "v.mp4"
    if part is not None:
        final.with_name("v.mp4.part").write_bytes(part)
    fresh = iter(mints or [minted(n) for n in range(2, 10)])

    async def mint():
        return next(fresh)

    async def go():
        async with httpx.AsyncClient(transport=httpx.MockTransport(cdn)) as http:
            downloader = CdnDownloader(http, Redactor(), retry=FAST)
            return await downloader.fetch(first or minted(1), mint, final)

    return asyncio.run(go())


def test_a_part_left_behind_is_resumed_with_range_and_the_sha_covers_the_whole_file(tmp_path):
    cdn = FakeCdn()
    got = fetch(cdn, tmp_path, part=BODY[:30_000])
    assert cdn.ranges == ["bytes=30000-"]
    assert got.resumed_from == 30_000 and got.nbytes == len(BODY)
    assert got.sha256 == hashlib.sha256(BODY).hexdigest()
    assert (tmp_path / "v.mp4").read_bytes() == BODY
    assert not (tmp_path / "v.mp4.part").exists()


def test_a_connection_cut_mid_body_resumes_where_it_stopped(tmp_path):
    cdn = FakeCdn("cut:10000", "cut:20000")
    got = fetch(cdn, tmp_path)
    assert cdn.ranges == ["bytes=0-", "bytes=10000-", "bytes=30000-"]
    assert got.sha256 == hashlib.sha256(BODY).hexdigest()


def test_a_403_mints_a_new_url_once_and_resumes(tmp_path):
    cdn = FakeCdn("cut:5000", "403")
    got = fetch(cdn, tmp_path)
    assert got.remints == 1
    assert cdn.ranges == ["bytes=0-", "bytes=5000-", "bytes=5000-"]
    assert cdn.tokens[-1] == "jwt-token-number-2-abcdef"
    assert got.sha256 == hashlib.sha256(BODY).hexdigest()


def test_a_fresh_url_refused_again_is_an_error_that_never_shows_the_token(tmp_path):
    cdn = FakeCdn(valid_tokens=set())
    with pytest.raises(DownloadError) as info:
        fetch(cdn, tmp_path)
    assert len(cdn.ranges) == 2
    assert "access_token" not in str(info.value) and "jwt-token" not in str(info.value)


def test_a_url_about_to_expire_is_replaced_before_it_is_used(tmp_path):
    cdn = FakeCdn()
    got = fetch(cdn, tmp_path, first=minted(1, expires_at_ms=1000))
    assert got.remints == 1 and cdn.tokens == ["jwt-token-number-2-abcdef"]


def test_a_server_that_ignores_range_restarts_the_file(tmp_path):
    cdn = FakeCdn("ignore-range")
    got = fetch(cdn, tmp_path, part=b"x" * 999)
    assert got.nbytes == len(BODY) and got.sha256 == hashlib.sha256(BODY).hexdigest()


def test_a_part_that_is_already_whole_is_finished_by_a_416(tmp_path):
    cdn = FakeCdn()
    got = fetch(cdn, tmp_path, part=BODY)
    assert cdn.ranges == [f"bytes={len(BODY)}-"]
    assert got.sha256 == hashlib.sha256(BODY).hexdigest()


def test_a_cdn_404_means_the_video_is_gone(tmp_path):
    def gone(request):
        return httpx.Response(404, json={"status": 404, "title": "An error occurred"})

    with pytest.raises(VideoGone):
        fetch(gone, tmp_path)


def test_connection_failures_without_progress_give_up_after_the_policys_attempts(tmp_path):
    cdn = FakeCdn(*["cut:0"] * 10)
    with pytest.raises(DownloadError, match="gave up after 3 failures"):
        fetch(cdn, tmp_path)
    assert len(cdn.ranges) == 3
