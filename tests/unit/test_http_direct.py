"""The HTTP core's two real transports behave the same over loopback: httpx over aiohttp
(``fast_transport``) and aiohttp itself (``direct``, ``connector.http.direct``). Each test
runs against a small aiohttp server in the test's own event loop, once per transport."""

from __future__ import annotations

import asyncio
import gzip

import orjson
import pytest
from aiohttp import web

from connector.http import (
    AsyncHttpClient,
    BadResponseError,
    ClientError,
    RateLimiter,
    RetryExhaustedError,
    RetryPolicy,
)

FAST = RetryPolicy(max_attempts=3, initial_wait_s=0.001, max_wait_s=0.01, jitter=False)
TRANSPORTS = {"httpx-aiohttp": {"fast_transport": True}, "direct": {"direct": True}}


@pytest.fixture(params=list(TRANSPORTS))
def transport(request):
    return TRANSPORTS[request.param]


async def serve(routes: web.RouteTableDef):
    app = web.Application()
    app.add_routes(routes)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return runner, f"http://127.0.0.1:{port}/base"


def run(routes, go, transport, **kw):
    async def main():
        runner, base = await serve(routes)
        try:
            async with AsyncHttpClient(base, vendor="t", retry=FAST, **transport, **kw) as c:
                return await go(c)
        finally:
            await runner.cleanup()

    return asyncio.run(main())


def test_a_form_post_arrives_as_sent_and_its_json_answer_is_parsed(transport):
    routes = web.RouteTableDef()

    @routes.post("/base/api2/asset/list")
    async def echo(request):
        form = await request.post()
        body = {"form": dict(form), "ctype": request.headers["Content-Type"]}
        return web.json_response(body, headers={"X-Extra": "yes"})

    async def go(c):
        resp = await c.post("/api2/asset/list", data=lambda: {"msg": "a b&c", "sig": "ff"})
        return resp, c.metrics

    resp, metrics = run(routes, go, transport)
    assert resp.data == {
        "form": {"msg": "a b&c", "sig": "ff"},
        "ctype": "application/x-www-form-urlencoded",
    }
    assert resp.headers.get("x-extra") == "yes"  # case-insensitive, as httpx's
    assert metrics.requests == 1 and metrics.bytes_sent == len("msg=a+b%26c&sig=ff")
    assert metrics.bytes_received == resp.nbytes > 0


def test_query_params_are_encoded_into_the_url(transport):
    routes = web.RouteTableDef()

    @routes.get("/base/v2/x")
    async def echo(request):
        return web.json_response(dict(request.query))

    resp = run(routes, lambda c: c.get("/v2/x", params={"iris_id": "a/b c", "n": 3}), transport)
    assert resp.data == {"iris_id": "a/b c", "n": "3"}


def test_a_503_is_retried_and_a_404_is_a_client_error_quoting_the_body(transport):
    routes = web.RouteTableDef()
    calls = {"n": 0}

    @routes.get("/base/flaky")
    async def flaky(request):
        calls["n"] += 1
        if calls["n"] == 1:
            return web.Response(status=503, text="busy")
        return web.json_response({"ok": True})

    @routes.get("/base/missing")
    async def missing(request):
        return web.json_response({"error": "not_found"}, status=404)

    async def go(c):
        ok = await c.get("/flaky")
        with pytest.raises(ClientError, match="404") as info:
            await c.get("/missing")
        return ok, info.value

    ok, err = run(routes, go, transport)
    assert ok.data == {"ok": True} and ok.attempts == 2
    assert "not_found" in err.body_excerpt


def test_a_gzip_body_is_decoded_and_one_that_lies_fails_twice_then_stops(transport):
    routes = web.RouteTableDef()

    @routes.get("/base/gz")
    async def gz(request):
        body = gzip.compress(orjson.dumps({"zipped": True}))
        return web.Response(body=body, headers={"Content-Encoding": "gzip"})

    @routes.get("/base/liar")
    async def liar(request):
        return web.Response(body=b'{"plain": 1}', headers={"Content-Encoding": "gzip"})

    async def go(c):
        good = await c.get("/gz")
        with pytest.raises(BadResponseError, match="Content-Encoding"):
            await c.get("/liar")
        return good

    assert run(routes, go, transport).data == {"zipped": True}


def test_rate_limit_headers_reach_the_limiter(transport):
    routes = web.RouteTableDef()

    @routes.get("/base/limited")
    async def limited(request):
        headers = {
            "X-RateLimit-Limit": "10",
            "X-RateLimit-Remaining": "9",
            "X-RateLimit-Reset": "5",  # a delta: 5 s from now
        }
        return web.json_response({}, headers=headers)

    limiter = RateLimiter()
    run(routes, lambda c: c.get("/limited"), transport, rate_limiter=limiter)
    assert limiter.interval > 0 and limiter.in_flight == 0


def test_a_server_that_is_not_there_is_retried_then_given_up_with_the_url(transport):
    async def main():
        async with AsyncHttpClient(
            "http://127.0.0.1:9/base", vendor="t", retry=FAST, **transport
        ) as c:
            with pytest.raises(RetryExhaustedError, match=r"127\.0\.0\.1:9/base/x") as info:
                await c.get("/x")
            return info.value, c.metrics

    err, metrics = asyncio.run(main())
    assert err.attempts == 3 and metrics.transport_errors == 3


def test_a_read_timeout_is_retried(transport):
    routes = web.RouteTableDef()
    calls = {"n": 0}

    @routes.get("/base/slow")
    async def slow(request):
        calls["n"] += 1
        if calls["n"] == 1:
            await asyncio.sleep(1.0)
        return web.json_response({"n": calls["n"]})

    resp = run(routes, lambda c: c.get("/slow"), transport, timeout=0.2)
    assert resp.data == {"n": 2} and resp.attempts == 2


def test_direct_refuses_an_auth_flow_or_a_test_transport():
    import httpx

    with pytest.raises(ValueError, match="direct"):
        AsyncHttpClient("http://x", vendor="t", direct=True, auth=httpx.BasicAuth("a", "b"))
    with pytest.raises(ValueError, match="direct"):
        AsyncHttpClient(
            "http://x",
            vendor="t",
            direct=True,
            transport=httpx.MockTransport(lambda r: httpx.Response(200)),
        )
