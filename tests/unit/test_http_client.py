"""AsyncHttpClient behaviour against httpx.MockTransport (no network, no real sleeping)."""

from __future__ import annotations

import asyncio
import logging
from email.utils import formatdate

import httpx
import orjson
import pytest

from connector.http import (
    AsyncHttpClient,
    AuthenticationError,
    ClientError,
    RateLimiter,
    RequestMetrics,
    ResponseParseError,
    RetryExhaustedError,
    RetryPolicy,
    SharedReauth,
    TransportFailure,
)

BASE = "http://vendor.test/uplynk"


class FakeTime:
    """Monotonic clock advanced only by the injected sleep."""

    def __init__(self, t: float = 1000.0) -> None:
        self.t = t
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.t

    async def sleep(self, d: float) -> None:
        self.sleeps.append(d)
        self.t += d
        await asyncio.sleep(0)


def run(coro):
    return asyncio.run(coro)


def make_client(handler, ft: FakeTime | None = None, **kw) -> AsyncHttpClient:
    ft = ft or FakeTime()
    kw.setdefault("retry", RetryPolicy(jitter=False))
    return AsyncHttpClient(
        BASE,
        vendor="test",
        transport=httpx.MockTransport(handler),
        sleep=ft.sleep,
        clock=ft.clock,
        **kw,
    )


def scripted(*responses):
    """Handler returning the given responses (or raising given exceptions) in order."""
    seen: list[httpx.Request] = []
    items = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = items.pop(0) if len(items) > 1 else items[0]
        if isinstance(item, Exception):
            raise item
        return item

    handler.seen = seen  # type: ignore[attr-defined]
    return handler


def ok(payload=None, **kw) -> httpx.Response:
    return httpx.Response(200, content=orjson.dumps(payload or {"error": 0}), **kw)


def test_returns_parsed_json_and_counts_metrics():
    h = scripted(ok({"assets": [1, 2]}))

    async def go():
        async with make_client(h) as c:
            r = await c.request("GET", "/api2/asset/list", params={"limit": 2})
            return r, c.metrics

    r, m = run(go())
    assert r.status == 200 and r.data == {"assets": [1, 2]} and r.attempts == 1
    assert r.nbytes == len(orjson.dumps({"assets": [1, 2]}))
    assert str(h.seen[0].url) == f"{BASE}/api2/asset/list?limit=2"
    assert (m.requests, m.responses_2xx, m.retries) == (1, 1, 0)
    assert m.bytes_received == r.nbytes


def test_relative_url_keeps_base_path_and_absolute_url_is_used_as_is():
    h = scripted(ok())

    async def go():
        async with make_client(h) as c:
            await c.request("GET", "api2/asset/get")
            await c.request("GET", "http://other.test/x")

    run(go())
    assert [str(r.url) for r in h.seen] == [f"{BASE}/api2/asset/get", "http://other.test/x"]


def test_json_body_is_serialized_with_content_type():
    h = scripted(ok())

    async def go():
        async with make_client(h) as c:
            await c.request("POST", "/records", json={"offset": 0, "limit": 50})
            return c.metrics

    m = run(go())
    req = h.seen[0]
    assert req.headers["content-type"] == "application/json"
    assert orjson.loads(req.content) == {"offset": 0, "limit": 50}
    assert m.bytes_sent == len(req.content)


def test_retries_503_then_succeeds():
    ft = FakeTime()
    h = scripted(httpx.Response(503), httpx.Response(503), ok({"v": 1}))

    async def go():
        async with make_client(h, ft) as c:
            return await c.request("GET", "/x"), c.metrics

    r, m = run(go())
    assert r.data == {"v": 1} and r.attempts == 3
    assert (m.requests, m.retries, m.responses_5xx, m.responses_2xx) == (3, 2, 2, 1)
    assert ft.sleeps == [0.2, 0.4]  # exponential, jitter off
    assert m.wait_s == pytest.approx(0.6)


@pytest.mark.parametrize("status", [500, 502, 504, 507, 599])
def test_retries_any_5xx(status):
    h = scripted(httpx.Response(status), ok())

    async def go():
        async with make_client(h) as c:
            return await c.request("GET", "/x")

    assert run(go()).attempts == 2


def test_honours_retry_after_seconds():
    ft = FakeTime()
    h = scripted(httpx.Response(503, headers={"Retry-After": "7"}), ok())

    async def go():
        async with make_client(h, ft) as c:
            await c.request("GET", "/x")

    run(go())
    assert ft.sleeps == [7.0]


def test_honours_retry_after_http_date():
    import time

    ft = FakeTime()
    date = formatdate(time.time() + 12, usegmt=True)
    h = scripted(httpx.Response(429, headers={"Retry-After": date}), ok())

    async def go():
        async with make_client(h, ft) as c:
            await c.request("GET", "/x")

    run(go())
    assert len(ft.sleeps) == 1 and 10.0 <= ft.sleeps[0] <= 12.0


def test_429_waits_for_ratelimit_reset_and_pauses_the_limiter():
    import time

    ft = FakeTime()
    wall = FakeTime(time.time())
    limiter = RateLimiter(clock=wall.clock, sleep=wall.sleep)
    reset = wall.t + 5
    h = scripted(
        httpx.Response(
            429,
            headers={
                "X-RateLimit-Limit": "10",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": f"{reset:.3f}",
            },
        ),
        ok(),
    )

    async def go():
        async with make_client(h, ft, rate_limiter=limiter) as c:
            return await c.request("GET", "/x"), c.metrics

    r, m = run(go())
    assert r.attempts == 2 and m.responses_429 == 1 and m.responses_4xx == 1
    assert 4.0 <= ft.sleeps[0] <= 5.0
    # every caller of the limiter backs off until the reset, not just this request
    assert limiter._paused_until == pytest.approx(reset, abs=0.01)
    assert wall.sleeps and wall.t >= reset - 0.01


def test_does_not_retry_404():
    h = scripted(httpx.Response(404, json={"error": "not_found", "error_description": "gone"}))

    async def go():
        async with make_client(h) as c:
            with pytest.raises(ClientError) as ei:
                await c.request("GET", "/videos/1/expiration.json")
            return ei.value, c.metrics

    e, m = run(go())
    assert e.status == 404 and e.vendor == "test" and e.method == "GET"
    assert "not_found" in e.body_excerpt and "404" in str(e)
    assert e.url == f"{BASE}/videos/1/expiration.json"
    assert (m.requests, m.retries, m.responses_4xx) == (1, 0, 1)


def test_status_in_accept_is_returned_and_empty_204_gives_none():
    h = scripted(httpx.Response(204))

    async def go():
        async with make_client(h) as c:
            return await c.request("GET", "/x", accept=(200, 204))

    r = run(go())
    assert r.status == 204 and r.data is None


def test_parse_none_returns_raw_bytes_and_custom_parser_is_used():
    h = scripted(httpx.Response(200, content=b"cb({'a': 1})"))

    async def go():
        async with make_client(h) as c:
            raw = await c.request("GET", "/watch", parse=None)
            custom = await c.request("GET", "/watch", parse=lambda b: b[3:-1].decode())
            return raw, custom

    raw, custom = run(go())
    assert raw.data == b"cb({'a': 1})" and custom.data == "{'a': 1}"


def test_reauthenticates_once_on_401():
    calls = []
    token = {"v": "old"}

    async def reauth():
        calls.append(1)
        token["v"] = "new"

    def handler(request):
        if request.headers.get("Authorization") == "Bearer new":
            return ok({"ok": True})
        return httpx.Response(401, json={"error": "invalid_token"})

    class Bearer(httpx.Auth):
        def auth_flow(self, request):
            request.headers["Authorization"] = f"Bearer {token['v']}"
            yield request

    ft = FakeTime()

    async def go():
        async with make_client(handler, ft, auth=Bearer(), reauthenticate=reauth) as c:
            return await c.request("GET", "/x"), c.metrics

    r, m = run(go())
    assert r.data == {"ok": True} and r.attempts == 2
    assert calls == [1] and m.reauths == 1
    assert ft.sleeps == [0]  # retried immediately


def test_401_past_the_reauth_budget_raises_authentication_error():
    """A server that refuses every fresh token: two re-logins, then AuthenticationError."""
    calls = []

    async def reauth():
        calls.append(1)

    h = scripted(httpx.Response(401))

    async def go():
        async with make_client(h, reauthenticate=reauth) as c:
            with pytest.raises(AuthenticationError) as ei:
                await c.request("GET", "/x")
            return ei.value

    e = run(go())
    assert calls == [1, 1] and e.status == 401 and "after re-authentication (2x)" in str(e)
    assert len(h.seen) == 3


def test_a_fresh_token_that_expires_before_the_retry_is_renewed_again():
    """The token from the re-login expires before the retry reaches the server (short TTL,
    slow server): the request logs in once more and succeeds."""
    calls = []
    h = scripted(httpx.Response(401), httpx.Response(401), ok({"ok": True}))

    async def reauth():
        calls.append(1)

    async def go():
        async with make_client(h, reauthenticate=reauth) as c:
            return await c.request("GET", "/x"), c.metrics

    r, m = run(go())
    assert r.data == {"ok": True} and r.attempts == 3
    assert calls == [1, 1] and m.reauths == 2


def test_401_without_reauthenticate_raises_immediately():
    h = scripted(httpx.Response(401))

    async def go():
        async with make_client(h) as c:
            with pytest.raises(AuthenticationError):
                await c.request("GET", "/x")

    run(go())
    assert len(h.seen) == 1


class TokenGenerations:
    """A credential whose token is renewed by ``renew``: requests carry the generation
    they were sent with (``X-Gen``) and only generation 1 is accepted."""

    def __init__(self) -> None:
        self.gen = 0
        self.renewals = 0

    async def renew(self) -> None:
        self.renewals += 1
        await asyncio.sleep(0.01)
        self.gen += 1

    def handler(self, request: httpx.Request) -> httpx.Response:
        return ok() if request.headers.get("X-Gen") == "1" else httpx.Response(401)

    def auth(self) -> httpx.Auth:
        outer = self

        class GenAuth(httpx.Auth):
            def auth_flow(self, request):
                request.headers["X-Gen"] = str(outer.gen)
                yield request

        return GenAuth()


def test_concurrent_401s_reauthenticate_once():
    cred = TokenGenerations()

    async def go():
        async with make_client(cred.handler, auth=cred.auth(), reauthenticate=cred.renew) as c:
            rs = await asyncio.gather(*(c.request("GET", f"/v/{i}") for i in range(10)))
            return rs, c.metrics

    rs, m = run(go())
    assert all(r.status == 200 for r in rs)
    assert cred.renewals == 1 and m.reauths == 1


def test_clients_sharing_a_credential_renew_it_once_for_401s_on_both():
    """IBM's listing and expiration clients send one token: a revocation that hits
    requests in flight on both is one renewal, not one per client."""
    cred = TokenGenerations()
    shared = SharedReauth(cred.renew)

    async def go():
        async with (
            make_client(cred.handler, auth=cred.auth(), reauthenticate=shared) as a,
            make_client(cred.handler, auth=cred.auth(), reauthenticate=shared) as b,
        ):
            return await asyncio.gather(
                *(c.request("GET", f"/v/{i}") for i in range(6) for c in (a, b))
            )

    rs = run(go())
    assert all(r.status == 200 for r in rs)
    assert cred.renewals == 1


def test_truncated_json_is_retried():
    h = scripted(httpx.Response(200, content=b'{"assets": [{"id": "a"'), ok({"assets": []}))

    async def go():
        async with make_client(h) as c:
            return await c.request("GET", "/x"), c.metrics

    r, m = run(go())
    assert r.data == {"assets": []} and m.parse_errors == 1 and m.retries == 1


def test_empty_200_body_is_treated_as_truncated():
    h = scripted(httpx.Response(200, content=b""), ok({"a": 1}))

    async def go():
        async with make_client(h) as c:
            return await c.request("GET", "/x")

    assert run(go()).data == {"a": 1}


@pytest.mark.parametrize(
    "exc",
    [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("eof")],
)
def test_transport_errors_and_timeouts_are_retried(exc):
    h = scripted(exc, ok())

    async def go():
        async with make_client(h) as c:
            return await c.request("GET", "/x"), c.metrics

    r, m = run(go())
    assert r.attempts == 2 and m.transport_errors == 1


def test_unsupported_protocol_is_not_retried():
    h = scripted(httpx.UnsupportedProtocol("nope"))

    async def go():
        async with make_client(h) as c:
            with pytest.raises(TransportFailure) as ei:
                await c.request("GET", "/x")
            return ei.value

    e = run(go())
    assert "UnsupportedProtocol" in str(e) and len(h.seen) == 1


def test_gives_up_after_max_attempts_with_redacted_message():
    secret = "tok-SECRET-123456"
    h = scripted(httpx.Response(503, text=f"upstream down for access_token={secret}"))

    async def go():
        async with make_client(h, retry=RetryPolicy(max_attempts=3, jitter=False)) as c:
            with pytest.raises(RetryExhaustedError) as ei:
                await c.request("GET", "/records", params={"access_token": secret})
            return ei.value, c.metrics

    e, m = run(go())
    assert e.attempts == 3 and m.requests == 3 and m.retries == 2
    assert "3 attempts" in str(e) and "503" in str(e)
    assert e.status == 503 and e.last_error is not None and e.last_error.status == 503
    assert secret not in str(e) and secret not in repr(e) and secret not in e.url
    assert "access_token=***" in e.url


def test_gives_up_when_elapsed_budget_is_used():
    ft = FakeTime()
    h = scripted(httpx.Response(503, headers={"Retry-After": "4"}))
    policy = RetryPolicy(max_attempts=100, max_elapsed_s=10.0)

    async def go():
        async with make_client(h, ft, retry=policy) as c:
            with pytest.raises(RetryExhaustedError) as ei:
                await c.request("GET", "/x")
            return ei.value

    e = run(go())
    assert ft.sleeps == [4.0, 4.0, 2.0]  # last wait capped by the remaining budget
    assert e.attempts == 4


def test_parse_failures_exhausted_report_response_parse_error():
    # each attempt truncated at a different byte: it may change, so the budget is used up
    h = scripted(*(httpx.Response(200, content=b'{"assets": [1, 2, 3]'[:n]) for n in (5, 9, 13)))

    async def go():
        async with make_client(h, retry=RetryPolicy(max_attempts=3, jitter=False)) as c:
            with pytest.raises(RetryExhaustedError) as ei:
                await c.request("GET", "/x")
            return ei.value

    e = run(go())
    assert e.attempts == 3 and len(h.seen) == 3
    assert isinstance(e.last_error, ResponseParseError) and e.last_error.status == 200


def test_secret_never_in_exception_or_logs(caplog):
    secret = "s3cr3t-client-token-XYZ"
    literal = "plain-literal-secret-987"

    def handler(request):
        return httpx.Response(
            400,
            text=f'{{"errors": ["bad client_token {secret}", "{literal}"], '
            f'"echo": "{request.url}"}}',
        )

    async def go():
        c = make_client(handler, retry=RetryPolicy(max_attempts=2))
        c.redactor.add(secret)  # as a vendor client does with its tokens
        c.redactor.add(literal)
        async with c:
            with pytest.raises(ClientError) as ei:
                await c.request(
                    "GET",
                    "/metadata",
                    params={"client_token": secret, "q": literal},
                )
            return ei.value

    with caplog.at_level(logging.DEBUG):
        e = run(go())
        logging.getLogger("connector.test").warning("oops %s", f"{BASE}?client_token={secret}")
    texts = [
        str(e),
        repr(e),
        e.url,
        e.body_excerpt,
        caplog.text,
        *(r.getMessage() for r in caplog.records),
    ]
    for t in texts:
        assert secret not in t
        assert literal not in t
    assert e.__cause__ is None and e.__context__ is None


def test_transport_error_text_is_redacted_and_not_chained(caplog):
    secret = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.abcdefgh"

    def handler(request):
        raise httpx.ConnectError(f"cannot connect to {request.url}")

    async def go():
        async with make_client(handler, retry=RetryPolicy(max_attempts=2)) as c:
            with pytest.raises(RetryExhaustedError) as ei:
                await c.request("GET", "/dl", params={"access_token": secret})
            return ei.value

    with caplog.at_level(logging.DEBUG):
        e = run(go())
    assert "ConnectError" in str(e)
    assert isinstance(e.last_error, TransportFailure)
    for t in (str(e), repr(e), str(e.last_error), caplog.text):
        assert secret not in t
    assert e.__cause__ is None and e.__context__ is None
    assert "retrying" in caplog.text  # the WARNING per retry


def test_debug_log_line_per_request(caplog):
    h = scripted(ok())

    async def go():
        async with make_client(h) as c:
            await c.request("GET", "/x", params={"sig": "abcdef0123"})

    with caplog.at_level(logging.DEBUG, logger="connector.http"):
        run(go())
    lines = [r.getMessage() for r in caplog.records if r.name == "connector.http"]
    assert len(lines) == 1 and "GET" in lines[0] and "200" in lines[0] and "sig=***" in lines[0]


def test_rate_limiter_is_acquired_per_attempt_and_fed_every_response():
    class Spy(RateLimiter):
        def __init__(self):
            super().__init__()
            self.acquired = 0
            self.observed = []

        async def acquire(self):
            self.acquired += 1
            return await super().acquire()

        def observe(self, headers, now=None):
            self.observed.append(headers.get("X-RateLimit-Remaining"))
            super().observe(headers, now)

    spy = Spy()
    h = scripted(
        httpx.Response(503, headers={"X-RateLimit-Remaining": "5"}),
        ok(headers={"X-RateLimit-Remaining": "4"}),
    )

    async def go():
        async with make_client(h, rate_limiter=spy) as c:
            await c.request("GET", "/x")

    run(go())
    assert spy.acquired == 2 and spy.observed == ["5", "4"] and spy.in_flight == 0


def test_shared_metrics_object_accumulates():
    m = RequestMetrics()
    h = scripted(ok())

    async def go():
        async with make_client(h, metrics=m) as a, make_client(h, metrics=m) as b:
            await a.request("GET", "/x")
            await b.request("GET", "/y")

    run(go())
    assert m.requests == 2 and m.responses_2xx == 2


def test_fast_transport_uses_aiohttp():
    from httpx_aiohttp import AiohttpTransport

    async def go():
        c = AsyncHttpClient(BASE, vendor="t", fast_transport=True)
        t = c._client._transport
        await c.aclose()
        return t

    assert isinstance(run(go()), AiohttpTransport)


def test_per_request_rate_limiter_overrides_the_clients():
    default, special = RateLimiter(), RateLimiter()
    h = scripted(ok(headers={"X-RateLimit-Limit": "5", "X-RateLimit-Reset": "9999999999"}))

    async def go():
        async with make_client(h, rate_limiter=default) as c:
            await c.request("GET", "/videos/1/expiration.json", rate_limiter=special)

    run(go())
    assert special._limit == 5 and default._limit is None


def test_cancelled_request_releases_its_rate_limiter_slot():
    limiter = RateLimiter()

    async def handler(request):
        await asyncio.sleep(10)

    class Slow(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request):
            return await handler(request)

    async def go():
        c = AsyncHttpClient(BASE, vendor="t", transport=Slow(), rate_limiter=limiter)
        async with c:
            task = asyncio.ensure_future(c.request("GET", "/x"))
            await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    run(go())
    assert limiter.in_flight == 0
