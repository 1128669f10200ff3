"""Unusable bodies on an accepted status: retry what can change, report at once what cannot.

And per-attempt request preparation (``params``/``data`` callables), so a signed request is
re-signed on every attempt. httpx.MockTransport, no network, no real sleeping.
"""

from __future__ import annotations

import asyncio
import gzip
from urllib.parse import parse_qs

import httpx
import orjson
import pytest

from connector.http import (
    AsyncHttpClient,
    BadResponseError,
    ClientError,
    ResponseParseError,
    RetryExhaustedError,
    RetryPolicy,
)

BASE = "http://vendor.test/ibm/api"


class FakeTime:
    def __init__(self) -> None:
        self.t = 1000.0

    def clock(self) -> float:
        return self.t

    async def sleep(self, d: float) -> None:
        self.t += d
        await asyncio.sleep(0)


def client(handler, **kw) -> AsyncHttpClient:
    ft = FakeTime()
    kw.setdefault("retry", RetryPolicy(jitter=False))
    return AsyncHttpClient(
        BASE,
        vendor="ibm",
        transport=httpx.MockTransport(handler),
        sleep=ft.sleep,
        clock=ft.clock,
        **kw,
    )


def always(make_response):
    """Handler answering ``make_response()`` to every request, recording the requests."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return make_response()

    handler.seen = seen  # type: ignore[attr-defined]
    return handler


def call(handler, method="GET", path="/channels/7/videos.json", **kw):
    async def go():
        async with client(handler) as c:
            try:
                return await c.request(method, path, **kw), c.metrics
            except Exception as exc:  # returned, so the metrics come back too
                return exc, c.metrics

    return asyncio.run(go())


def streamed(content: bytes, **headers: str) -> httpx.Response:
    """A response whose body is read (and decoded) by the client, as from a socket."""
    return httpx.Response(200, headers=headers, stream=httpx.ByteStream(content))


DEEP = b"[" * 5000 + b"]" * 5000
BROKEN = {
    "nan": (lambda: httpx.Response(200, content=b'{"length": NaN}'), "not JSON", 15),
    "invalid utf-8": (
        lambda: httpx.Response(200, content=b'{"title": "caf\xe9"}'),
        "not JSON: str is not valid UTF-8",
        17,
    ),
    "deep nesting": (lambda: httpx.Response(200, content=DEEP), "not JSON", len(DEEP)),
    "html with 200": (
        lambda: httpx.Response(
            200,
            content=b"<html><body>Maintenance</body></html>",
            headers={"content-type": "text/html"},
        ),
        "not JSON",
        37,
    ),
    "empty 200": (lambda: httpx.Response(200, content=b""), "empty body", 0),
    "content-encoding lies": (
        lambda: streamed(b'{"videos": []}', **{"Content-Encoding": "gzip"}),
        "Content-Encoding 'gzip' does not decode",
        14,
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_the_same_unusable_body_twice_fails_at_once(case):
    make, problem, nbytes = BROKEN[case]
    h = always(make)
    err, m = call(h)
    assert isinstance(err, BadResponseError), err
    assert len(h.seen) == 2 and m.retries == 1 and m.parse_errors == 2
    msg = str(err)
    assert msg.startswith("ibm GET http://vendor.test/ibm/api/channels/7/videos.json -> 200 (")
    assert problem in msg and problem in err.problem
    assert f"{nbytes} bytes" in msg and err.nbytes == nbytes
    assert err.status == 200 and err.vendor == "ibm" and err.method == "GET"
    assert err.content_type in msg
    assert f'body starts: "{err.preview}' in msg and (err.preview != "") == (nbytes > 0)
    assert len(err.preview) <= 83 and err.preview.isprintable()


def test_message_names_content_type_and_shows_the_first_bytes():
    h = always(
        lambda: httpx.Response(
            200,
            content=b"<html>\n<b>Bad gateway</b>\x00" + b"x" * 200,
            headers={"content-type": "text/html"},
        )
    )
    err, _ = call(h)
    assert isinstance(err, BadResponseError)
    assert err.content_type == "text/html" and "(text/html, 226 bytes)" in str(err)
    assert err.preview.startswith("<html>\\n<b>Bad gateway</b>\\x00xxx") and err.preview.endswith(
        "..."
    )


def test_a_truncated_body_then_a_good_one_succeeds():
    bodies = [b'{"videos": [{"id": "1"', orjson.dumps({"videos": []})]
    h = always(lambda: httpx.Response(200, content=bodies.pop(0)))
    r, m = call(h)
    assert r.data == {"videos": []} and r.attempts == 2 and m.parse_errors == 1


def test_different_broken_bytes_keep_the_retry_budget():
    cuts = iter(range(3, 40, 4))
    full = orjson.dumps({"videos": [{"id": "v1", "title": "A title"}]})
    h = always(lambda: httpx.Response(200, content=full[: next(cuts)]))
    err, m = call(h)
    assert isinstance(err, RetryExhaustedError) and not isinstance(err, BadResponseError)
    assert isinstance(err.last_error, ResponseParseError)
    assert len(h.seen) == RetryPolicy().max_attempts == err.attempts


def test_error_pages_that_differ_only_in_their_values_fail_after_two_attempts():
    # a vendor's answer carries values that change on every call (its clock, a request id):
    # the same kind of problem twice in a row is deterministic whatever the bytes
    n = iter(range(100))
    h = always(lambda: httpx.Response(200, content=f"<html>request {next(n)}</html>".encode()))
    err, _ = call(h)
    assert isinstance(err, BadResponseError)
    assert len(h.seen) == 2


def test_bodies_truncated_at_different_bytes_keep_the_retry_budget():
    # a flaky proxy cuts bodies short at a different byte each time: it may recover
    n = iter(range(1, 100))
    h = always(lambda: httpx.Response(200, content=b'{"videos": [' + b"1," * next(n)))
    err, _ = call(h)
    assert isinstance(err, RetryExhaustedError) and not isinstance(err, BadResponseError)
    assert len(h.seen) == RetryPolicy().max_attempts


def test_same_bytes_after_a_different_failure_in_between_still_count_as_the_same():
    bodies = [b"NaN", b"NaN", b"{"]
    answers = [httpx.Response(200, content=bodies[0]), httpx.Response(503)]
    answers.append(httpx.Response(200, content=bodies[1]))
    h = always(lambda: answers.pop(0))
    err, _ = call(h)
    assert isinstance(err, BadResponseError) and len(h.seen) == 3


def test_utf8_bom_before_valid_json_is_accepted():
    h = always(lambda: httpx.Response(200, content=b'\xef\xbb\xbf{"videos": [1]}'))
    r, m = call(h)
    assert r.data == {"videos": [1]} and r.attempts == 1 and m.parse_errors == 0


def test_a_correct_content_encoding_is_decoded():
    payload = orjson.dumps({"videos": [{"id": "v1"}]})
    h = always(lambda: streamed(gzip.compress(payload), **{"Content-Encoding": "gzip"}))
    r, _ = call(h)
    assert r.data == {"videos": [{"id": "v1"}]} and r.nbytes == len(payload)


def test_a_body_that_does_not_decode_on_a_4xx_is_quoted_raw():
    h = always(
        lambda: httpx.Response(
            404, headers={"Content-Encoding": "gzip"}, stream=httpx.ByteStream(b"no such video")
        )
    )
    err, _ = call(h)
    assert isinstance(err, ClientError) and err.status == 404
    assert "no such video" in err.body_excerpt and len(h.seen) == 1


def test_allow_empty_accepts_an_empty_200_and_others_still_refuse_it():
    h = always(lambda: httpx.Response(200, content=b""))
    r, _ = call(h, "PUT", "/videos/1/expiration.json", data={"rule": "never"}, allow_empty=True)
    assert r.status == 200 and r.data is None and len(h.seen) == 1
    err, _ = call(h, "PUT", "/videos/1/expiration.json", data={"rule": "never"})
    assert isinstance(err, BadResponseError) and "empty body" in str(err)


# -- per-attempt request preparation --------------------------------------------------


def test_data_callable_is_called_on_every_attempt():
    answers = [httpx.Response(503), httpx.Response(200, content=b'{"error": 0}')]
    h = always(lambda: answers.pop(0))
    stamps = iter(range(1, 10))

    def signed() -> dict[str, str]:
        return {"owner": "o", "_timestamp": str(next(stamps))}

    r, m = call(h, "POST", "/api2/asset/changes", data=signed)
    assert r.data == {"error": 0} and m.retries == 1
    forms = [parse_qs(req.content.decode()) for req in h.seen]
    assert forms == [{"owner": ["o"], "_timestamp": ["1"]}, {"owner": ["o"], "_timestamp": ["2"]}]


def test_params_callable_is_called_again_on_the_reauthentication_retry():
    answers = [httpx.Response(401), httpx.Response(200, content=b"{}")]
    h = always(lambda: answers.pop(0))
    n = iter(range(1, 10))

    async def reauth() -> None:
        return None

    async def go():
        async with client(h, reauthenticate=reauth) as c:
            return await c.request("GET", "/x", params=lambda: {"attempt": next(n)})

    r = asyncio.run(go())
    assert r.attempts == 2
    assert [req.url.params["attempt"] for req in h.seen] == ["1", "2"]


def test_a_failing_data_callable_propagates_and_frees_the_limiter_slot():
    from connector.http import RateLimiter

    limiter = RateLimiter()
    h = always(lambda: httpx.Response(200, content=b"{}"))

    def broken() -> dict[str, str]:
        raise KeyError("api_key")

    async def go():
        async with client(h, rate_limiter=limiter) as c:
            with pytest.raises(KeyError):
                await c.request("POST", "/x", data=broken)

    asyncio.run(go())
    assert limiter.in_flight == 0 and h.seen == []
