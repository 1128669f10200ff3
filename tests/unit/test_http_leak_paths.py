"""Each path that would carry a secret out, proven to be scrubbed.

Every test runs twice (fixture ``scrubbing``): with the scrubber on, the secret must be
absent; with ``connector.secrets`` made a no-op (text rules and key rules both switched
off), the same secret must be PRESENT. The second run proves the path really carries the
secret, so the first run's absence is the scrubber's work and not luck.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from connector import secrets
from connector.http import (
    AsyncHttpClient,
    BadResponseError,
    ClientError,
    RetryExhaustedError,
    RetryPolicy,
)
from connector.warehouse import Reject, Warehouse

TOKEN = "tok-Leak-0123456789"  # never registered: the name rules must catch it
LITERAL = "plain-Literal-Secret-42"  # registered, as vendor clients do with their keys


@pytest.fixture(params=["on", "off"])
def scrubbing(request, monkeypatch) -> bool:
    """True: the real scrubber. False: ``connector.secrets`` made a no-op."""
    if request.param == "off":
        monkeypatch.setattr(secrets, "redact_text", lambda t: t if isinstance(t, str) else str(t))
        monkeypatch.setattr(secrets, "is_secret_key", lambda name: False)
    return request.param == "on"


def leaked(text: str, secret: str = TOKEN) -> bool:
    return secret in text


def mock_client(handler, **kw) -> AsyncHttpClient:
    async def no_sleep(_: float) -> None:
        return None

    kw.setdefault("retry", RetryPolicy(max_attempts=2, jitter=False))
    return AsyncHttpClient(
        "http://vendor.test/iris",
        vendor="iris",
        transport=httpx.MockTransport(handler),
        sleep=no_sleep,
        **kw,
    )


def failing_request(handler, **params) -> Exception:
    async def go():
        async with mock_client(handler) as c:
            try:
                await c.request("GET", "/watch", params=params)
            except Exception as exc:
                return exc
        raise AssertionError("the request was expected to fail")

    return asyncio.run(go())


# -- log lines -------------------------------------------------------------------------


def test_connector_http_debug_line_with_a_token_in_the_query(scrubbing, caplog):
    async def go():
        async with mock_client(lambda r: httpx.Response(200, json={})) as c:
            await c.request("GET", "/watch", params={"access_token": TOKEN, "page": 2})

    with caplog.at_level(logging.DEBUG, logger="connector.http"):
        asyncio.run(go())
    lines = [r.getMessage() for r in caplog.records if r.name == "connector.http"]
    assert lines and "page=2" in lines[0]
    assert leaked(caplog.text) is not scrubbing


class _Echo(BaseHTTPRequestHandler):
    """Answers 200 JSON with a Location header that carries a signed URL."""

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Location", f"https://cdn.test/v.mp4?exp=9&sig={TOKEN}")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def echo_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class _Collect(logging.Handler):
    """Keeps (logger name, message) as formatted when it reaches this handler (filters
    of later handlers rewrite the record in place afterwards)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.name, record.getMessage()))


def test_httpx_and_httpcore_loggers_over_real_http(scrubbing, echo_server):
    """httpx logs the full URL at INFO, httpcore the response headers at DEBUG. The handler
    is added after the client exists (as Dagster adds its own), so only the filters on the
    library loggers themselves stand between the secret and the handler."""
    root = logging.getLogger()
    hx, hc = logging.getLogger("httpx"), logging.getLogger("httpcore")
    levels = (root.level, hx.level, hc.level)
    late = _Collect()

    async def go():
        async with AsyncHttpClient(echo_server, vendor="iris") as c:
            root.handlers.insert(0, late)  # first: sees records before filtered handlers
            root.setLevel(logging.DEBUG)
            hx.setLevel(logging.DEBUG)  # the client set it to WARNING: a user lowers it
            hc.setLevel(logging.DEBUG)
            await c.request("GET", "/watch", params={"client_token": TOKEN})

    try:
        asyncio.run(go())
    finally:
        root.removeHandler(late)
        root.setLevel(levels[0])
        hx.setLevel(levels[1])
        hc.setLevel(levels[2])
    httpx_line = " ".join(msg for name, msg in late.lines if name == "httpx")
    httpcore_lines = " ".join(msg for name, msg in late.lines if name.startswith("httpcore"))
    assert "HTTP Request: GET" in httpx_line and "receive_response_headers" in httpcore_lines
    assert leaked(httpx_line) is not scrubbing
    assert leaked(httpcore_lines) is not scrubbing


def test_retry_warning_quoting_the_url(scrubbing, caplog):
    with caplog.at_level(logging.WARNING, logger="connector.http"):
        err = failing_request(lambda r: httpx.Response(503), access_token=TOKEN)
    assert isinstance(err, RetryExhaustedError) and "retrying" in caplog.text
    assert leaked(caplog.text) is not scrubbing


# -- exception messages ----------------------------------------------------------------


@pytest.mark.parametrize("param", ["access_token", "client_token"])
def test_error_message_quoting_a_url(scrubbing, param):
    err = failing_request(lambda r: httpx.Response(404), **{param: TOKEN})
    assert isinstance(err, ClientError) and err.status == 404
    for text in (str(err), repr(err), err.url):
        assert leaked(text) is not scrubbing


def test_transport_error_quoting_the_url(scrubbing):
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot connect to {request.url}")

    err = failing_request(refuse, access_token=TOKEN)
    assert isinstance(err, RetryExhaustedError)
    assert leaked(str(err)) is not scrubbing
    assert leaked(str(err.last_error)) is not scrubbing


def test_client_error_body_excerpt_echoing_the_secret(scrubbing):
    secrets.register_secret(LITERAL)
    body = {"error": "invalid_client", "client_token": TOKEN, "detail": f"key {LITERAL}"}
    err = failing_request(lambda r: httpx.Response(400, json=body))
    assert isinstance(err, ClientError)
    for text in (err.body_excerpt, str(err)):
        assert leaked(text) is not scrubbing
        assert leaked(text, LITERAL) is not scrubbing


def test_client_error_excerpts_cut_through_a_secret(scrubbing):
    """The message quotes 200 characters of the body, ``body_excerpt`` 500: a secret
    straddling either cut must not leave its first characters behind."""
    secrets.register_secret(LITERAL)
    body = "x" * 190 + f" {LITERAL} " + "y" * 270 + f" {LITERAL} " + "z" * 100
    err = failing_request(lambda r: httpx.Response(400, text=body))
    assert isinstance(err, ClientError)
    head = LITERAL[:8]
    assert (head in str(err)) is not scrubbing
    assert (err.body_excerpt.count(head) == 2) is not scrubbing


def test_bad_response_preview_cut_through_a_secret(scrubbing):
    secrets.register_secret(LITERAL)
    page = ("<html>" + "x" * 64 + f" {LITERAL} </html>").encode()
    err = failing_request(lambda r: httpx.Response(200, content=page))
    assert isinstance(err, BadResponseError)
    assert (LITERAL[:8] in err.preview) is not scrubbing


def test_bad_response_preview_echoing_the_secret(scrubbing):
    page = f"<html>Signed in as x. Retry https://h/watch?token={TOKEN}</html>".encode()
    err = failing_request(
        lambda r: httpx.Response(200, content=page, headers={"content-type": "text/html"})
    )
    assert isinstance(err, BadResponseError)
    for text in (err.preview, str(err)):
        assert leaked(text) is not scrubbing


# -- stored payloads (meta.rejects) ----------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        {"id": "a1", "api_key": TOKEN},
        {"id": "a1", "auth": {"token": TOKEN}},
        {"id": "a1", "source_url": f"https://cdn.test/v.mp4?exp=9&sig={TOKEN}"},
    ],
    ids=["api_key", "nested auth.token", "url with sig"],
)
def test_reject_payload_holding_a_secret(scrubbing, tmp_path, payload):
    wh = Warehouse(tmp_path / "wh.duckdb", tmp_path / "lake")
    with wh.write() as tx:
        tx.reject(
            "iris_sources",
            [Reject("a1", f"bad duration; raw {json.dumps(payload)}", payload)],
            "r1",
        )
    with wh.read() as con:
        stored, reason = con.execute(
            "SELECT CAST(payload AS VARCHAR), reason FROM meta.rejects"
        ).fetchone()
    assert json.loads(stored)["id"] == "a1"
    assert leaked(stored) is not scrubbing
    assert leaked(reason) is not scrubbing
