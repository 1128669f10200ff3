"""MediaProber against httpx.MockTransport: the expiry read without a request, HEAD then a
one-byte Range GET, redirects, each status's state, a timeout as a state, and the limits
on concurrency per host."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from connector.media.probe import MediaProber

FUTURE = int(time.time()) + 3600
PAST = int(time.time()) - 60
TOKEN = "tok0123456789abcdef"


def url(path: str = "/v.mp4", expires: int = FUTURE, host: str = "cdn.test") -> str:
    return f"http://{host}{path}?token={TOKEN}&expires={expires}"


def probe_with(handler, target: str, **kw):
    async def go():
        async with MediaProber(transport=httpx.MockTransport(handler), **kw) as prober:
            return await prober.probe(target)

    return asyncio.run(go())


class Recorder:
    def __init__(self, answer):
        self.answer = answer
        self.seen: list[tuple[str, str, str | None]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.method, request.url.path, request.headers.get("range")))
        return self.answer(request)


def test_an_expired_url_is_expired_without_any_request():
    rec = Recorder(lambda r: httpx.Response(200))
    result = probe_with(rec, url(expires=PAST))
    assert result.status == "expired"
    assert "no request sent" in result.reason
    assert rec.seen == []
    assert result.expires_at_ms == PAST * 1000


def test_head_refused_falls_back_to_a_one_byte_range_get():
    rec = Recorder(lambda r: httpx.Response(405 if r.method == "HEAD" else 206))
    result = probe_with(rec, url())
    assert result.status == "live" and result.http_status == 206
    assert rec.seen == [("HEAD", "/v.mp4", None), ("GET", "/v.mp4", "bytes=0-0")]
    assert result.requests == 2


def test_redirects_are_followed_and_no_token_is_kept():
    def answer(r):
        if r.url.path == "/v.mp4":
            return httpx.Response(302, headers={"location": f"/edge/v.mp4?token={TOKEN}"})
        return httpx.Response(200)

    result = probe_with(Recorder(answer), url())
    assert (result.status, result.redirects, result.http_status) == ("live", 1, 200)
    assert result.final_url == "http://cdn.test/edge/v.mp4"
    assert TOKEN not in result.reason + result.final_url


def test_a_redirect_loop_is_an_error_not_a_hang():
    loop = Recorder(lambda r: httpx.Response(302, headers={"location": "/v.mp4"}))
    result = probe_with(loop, url(), max_redirects=3)
    assert result.status == "error" and "more than 3 redirects" in result.reason
    assert len(loop.seen) == 4


@pytest.mark.parametrize(
    ("status", "state"),
    [
        (200, "live"),
        (404, "gone"),
        (410, "gone"),
        (403, "forbidden"),
        (500, "error"),
        (401, "error"),
    ],
)
def test_each_status_has_its_state(status, state):
    result = probe_with(Recorder(lambda r: httpx.Response(status)), url())
    assert (result.status, result.http_status) == (state, status)


def test_a_403_once_the_url_has_expired_is_expired():
    now = [FUTURE * 1000 - 1]

    def answer(r):
        now[0] = FUTURE * 1000 + 1  # the URL expires while the request is in flight
        return httpx.Response(403)

    result = probe_with(Recorder(answer), url(), clock_ms=lambda: now[0])
    assert result.status == "expired" and result.http_status == 403


def test_a_slow_url_is_a_timeout_state_not_a_crash():
    async def slow(request):
        await asyncio.sleep(5)
        return httpx.Response(200)

    result = probe_with(slow, url(), timeout_s=0.2)
    assert result.status == "timeout" and result.http_status is None
    assert "0.2s" in result.reason


def test_a_connection_failure_is_an_error_state_without_the_token():
    def fail(request):
        raise httpx.ConnectError(f"cannot reach {request.url}", request=request)

    result = probe_with(fail, url())
    assert result.status == "error" and "ConnectError" in result.reason
    assert TOKEN not in result.reason


def test_concurrency_and_the_per_host_limit_hold():
    in_flight: dict[str, int] = {}
    peak: dict[str, int] = {}
    total = [0, 0]

    async def handler(request):
        host = request.url.host
        in_flight[host] = in_flight.get(host, 0) + 1
        total[0] += 1
        peak[host] = max(peak.get(host, 0), in_flight[host])
        total[1] = max(total[1], total[0])
        await asyncio.sleep(0.01)
        in_flight[host] -= 1
        total[0] -= 1
        return httpx.Response(200)

    items = [(i, url(f"/{i}.mp4", host=f"h{i % 3}.test")) for i in range(90)]

    async def go():
        async with MediaProber(
            transport=httpx.MockTransport(handler), concurrency=7, per_host=2
        ) as prober:
            return [r async for r in prober.probe_many(items)]

    results = asyncio.run(go())
    assert sorted(k for k, _ in results) == list(range(90))
    assert all(r.status == "live" for _, r in results)
    assert max(peak.values()) == 2, f"per-host peaks {peak}"
    assert total[1] <= 6, f"{total[1]} in flight at once"


def test_time_spent_waiting_for_a_host_slot_is_not_a_timeout():
    async def handler(request):
        await asyncio.sleep(0.1)
        return httpx.Response(200)

    items = [(i, url(f"/{i}.mp4")) for i in range(6)]

    async def go():
        async with MediaProber(
            transport=httpx.MockTransport(handler), timeout_s=0.3, concurrency=6, per_host=1
        ) as prober:
            return [r async for r in prober.probe_many(items)]

    results = asyncio.run(go())  # the last one waits ~0.5 s for its slot, then answers in 0.1
    assert [r.status for _, r in results] == ["live"] * 6
