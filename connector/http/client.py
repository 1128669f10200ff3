"""``AsyncHttpClient``: the one HTTP core every vendor client uses.

Per attempt: take a connection slot, ``await rate_limiter.acquire()``, build the request
(``params``/``data`` given as zero-argument callables are called again, so a signed request
is re-signed on every attempt), send, read the raw body, feed the response headers to
``rate_limiter.observe``. Outcomes:

* status in ``accept`` and the body decodes and parses -> ``ApiResponse`` (a UTF-8 BOM
  before the body is dropped);
* status in ``accept`` but the body does not decode or parse -> retried once; if the next
  attempt fails the same way (``body.BodyFailure``: a body cut short must be the same raw
  bytes again, any other problem the same kind), ``BadResponseError`` at once (the server
  sends it every time); a different failure keeps the normal retry budget (a body
  truncated by a flaky proxy changes from one attempt to the next);
* 429 -> the limiter pauses every caller for the server's wait, then retried;
* any 5xx, timeouts, connection/protocol errors -> retried;
* 401 -> ``reauthenticate()`` (single-flight across concurrent requests) and an immediate
  retry, at most ``RetryPolicy.max_reauths`` times per request; the next 401 ->
  ``AuthenticationError``;
* anything else -> ``ClientError`` (not retried).

Retries run in tenacity's ``AsyncRetrying`` with ``RetryPolicy.compute_wait``; when
attempts or time run out -> ``RetryExhaustedError``. Errors and log lines carry only
redacted URLs and text (``connector.secrets``); raw httpx/aiohttp exceptions are never
chained.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from ._retrying import RetryingBase, SharedReauth
from ._state import AIO_FATAL, RETRYABLE, Fields, RequestState, Retry, fixed_kwargs
from .body import (
    BodyFailure,
    ResponseHead,
    content_type,
    decode,
    decoded_or_raw,
    decoding_problem,
    excerpt,
    parse_body,
    preview,
    read_raw,
)
from .direct import DirectSender
from .errors import (
    AuthenticationError,
    BadResponseError,
    ClientError,
    HttpError,
    ResponseParseError,
)
from .metrics import RequestMetrics
from .ratelimit import RequestLimiter
from .redact import Redactor, default_redactor, install_log_redaction
from .retry import RetryPolicy

USER_AGENT = "video-catalog-connector/0.1"
_EXCERPT = 500


@dataclass(frozen=True, slots=True)
class ApiResponse:
    """A successful response: ``data`` is the parsed body (``None`` for an empty body
    where one is allowed, the decoded bytes when ``parse=None``); ``nbytes`` the decoded
    body size; ``elapsed_s`` the time spent in ``request()`` including retries;
    ``attempts`` the number of attempts it took."""

    status: int
    data: Any
    headers: Mapping[str, str]
    nbytes: int
    elapsed_s: float
    attempts: int = 1


class AsyncHttpClient(RetryingBase):
    """Async HTTP client for one vendor: retries, rate limiting, re-auth, redaction,
    metrics. Use as ``async with AsyncHttpClient(...) as c: await c.request(...)``.

    Relative ``url``s are joined to ``base_url`` (its path is kept: ``base/uplynk`` +
    ``/api2/x`` -> ``base/uplynk/api2/x``); absolute URLs are used as they are.
    ``direct``: send with aiohttp itself instead of through httpx (``connector.http.direct``:
    ~230 us less client CPU per request in the 1M Uplynk sync; not with ``auth`` or
    ``transport``).
    ``max_connections`` caps the requests in flight and the pooled connections; ``slots``
    (a semaphore) replaces the in-flight cap with one shared by several clients of the
    same host, so that together they keep at most its size in flight.
    ``sleep``/``clock`` are injectable for tests (``clock`` is monotonic seconds).
    Creating a client calls ``install_log_redaction`` (idempotent).
    """

    def __init__(
        self,
        base_url: str,
        *,
        vendor: str,
        timeout: float | httpx.Timeout = 30.0,
        retry: RetryPolicy | None = None,
        rate_limiter: RequestLimiter | None = None,
        redactor: Redactor | None = None,
        metrics: RequestMetrics | None = None,
        auth: httpx.Auth | None = None,
        reauthenticate: Callable[[], Awaitable[None]] | SharedReauth | None = None,
        max_connections: int = 20,
        slots: asyncio.Semaphore | None = None,
        fast_transport: bool = False,
        direct: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.vendor = vendor
        self.retry = retry or RetryPolicy()
        self.rate_limiter = rate_limiter
        self.redactor = redactor or default_redactor()
        self.metrics = metrics if metrics is not None else RequestMetrics()
        if reauthenticate is not None and not isinstance(reauthenticate, SharedReauth):
            reauthenticate = SharedReauth(reauthenticate)
        self._reauth = reauthenticate
        self._sleep = sleep
        self._clock = clock
        self._sem = slots if slots is not None else asyncio.Semaphore(max_connections)
        limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        if transport is None and fast_transport:
            from httpx_aiohttp import AiohttpTransport

            transport = AiohttpTransport(limits=limits)
        hdrs = {"User-Agent": USER_AGENT}
        hdrs.update(headers or {})
        if direct and (auth is not None or transport is not None):
            raise ValueError("direct=True sends with aiohttp itself: no httpx auth or transport")
        self._direct = (
            DirectSender(
                base_url,
                timeout=timeout,
                max_connections=max_connections,
                headers=hdrs,
            )
            if direct
            else None
        )
        self._client = httpx.AsyncClient(
            base_url=base_url,
            timeout=timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout),
            auth=auth,
            limits=limits,
            transport=transport,
            headers=hdrs,
            follow_redirects=False,
        )
        install_log_redaction(self.redactor)

    # -- lifecycle -------------------------------------------------------------------
    async def __aenter__(self) -> AsyncHttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close pooled connections."""
        if self._direct is not None:
            await self._direct.aclose()
        await self._client.aclose()

    # -- public API ------------------------------------------------------------------
    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Fields | None = None,
        data: Fields | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        accept: Collection[int] = (200,),
        parse: Callable[[bytes], Any] | None = orjson.loads,
        allow_empty: bool = False,
        timeout: float | httpx.Timeout | None = None,
        rate_limiter: RequestLimiter | None = None,
    ) -> ApiResponse:
        """Send one logical request (with retries) and return the parsed response.

        ``params`` and ``data`` are mappings, or zero-argument callables returning one,
        called on every attempt (retries and the re-authentication retry included): pass
        ``data=lambda: sign(...)`` to re-sign a request each time it is sent.
        ``allow_empty``: an empty body on an accepted status gives ``data=None`` (a
        ``PUT`` answered ``200`` with no body) instead of counting as an unusable body.
        ``rate_limiter`` overrides the client's limiter for this request (give each
        endpoint family its own limiter when a vendor limits per endpoint).

        Raises ``ClientError``, ``AuthenticationError``, ``BadResponseError`` (the same
        unusable body twice), ``RetryExhaustedError`` or ``TransportFailure`` (a
        non-retryable transport problem such as a bad URL).
        """
        ctx = RequestState(
            method.upper(),
            url,
            params=params,
            data=data,
            fixed=fixed_kwargs(headers, json, content, timeout),
            accept=accept,
            parse=parse,
            allow_empty=allow_empty,
            start=self._clock(),
            limiter=rate_limiter or self.rate_limiter,
        )
        # Fast path: the first attempt runs outside tenacity (its per-call machinery
        # costs tens of microseconds); a retryable failure is replayed into the
        # tenacity loop as its attempt 1.
        try:
            return await self._attempt(ctx)
        except Retry as exc:
            first: Retry | None = exc

        async def attempt(c: RequestState) -> ApiResponse:
            nonlocal first
            if first is not None:
                replay, first = first, None
                raise replay
            return await self._attempt(c)

        return await self._retrying()(attempt, ctx)

    async def get(self, url: str, **kw: Any) -> ApiResponse:
        return await self.request("GET", url, **kw)

    async def post(self, url: str, **kw: Any) -> ApiResponse:
        return await self.request("POST", url, **kw)

    # -- one attempt -----------------------------------------------------------------
    async def _attempt(self, ctx: RequestState) -> ApiResponse:
        ctx.attempts += 1
        resp, raw, decoded, url, gen = await self._send(ctx)
        status = resp.status_code
        if status in ctx.accept:
            return self._accepted(ctx, resp, raw, decoded, url)
        body = raw if decoded else decoded_or_raw(resp, raw)
        reason = resp.reason_phrase or ""
        if status == 401:
            if self._reauth is None or ctx.reauths >= self.retry.max_reauths:
                raise self._err(
                    AuthenticationError,
                    f"{self.vendor} {ctx.method} {url} -> 401 {reason}"
                    + (f" after re-authentication ({ctx.reauths}x)" if ctx.reauths else "")
                    + f": {excerpt(body, 200, self.redactor.redact)}",
                    ctx,
                    url,
                    status,
                )
            ctx.reauths += 1
            await self._renew(gen, ctx, url)
            raise Retry(self._err(HttpError, f"401 {reason}", ctx, url, status), immediate=True)
        if status == 429 or 500 <= status < 600:
            limiter = ctx.limiter
            if status == 429 and limiter is not None:
                pause = self.retry.header_wait(resp.headers, status)
                limiter.pause_for(
                    min(pause, self.retry.max_wait_s)
                    if pause is not None
                    else self.retry.initial_wait_s
                )
            text = excerpt(body, 200, self.redactor.redact)
            raise Retry(
                self._err(HttpError, f"{status} {reason}: {text}", ctx, url, status),
                headers=resp.headers,
            )
        text = excerpt(body, _EXCERPT, self.redactor.redact)
        raise self._err(
            ClientError,
            f"{self.vendor} {ctx.method} {url} -> {status} {reason}: {text[:200]}",
            ctx,
            url,
            status,
            body_excerpt=text,
        )

    async def _send(self, ctx: RequestState) -> tuple[ResponseHead, bytes, bool, str, int]:
        """Send one attempt and read its raw body: (response, raw body, whether it is
        already decoded, URL, auth generation). Transport failures raise ``Retry`` (or
        ``TransportFailure`` when retrying cannot help)."""
        m = self.metrics
        limiter = ctx.limiter
        failure: HttpError | None = None
        fatal = False
        url = ""
        async with self._sem:
            if limiter is not None:
                waited = await limiter.acquire()
                if waited:
                    m.wait_s += waited
            gen = 0 if self._reauth is None else self._reauth.generation
            t0 = self._clock()
            try:
                kw = ctx.request_kwargs()
                if self._direct is not None:
                    url = ctx.last_url = self._direct.url(ctx.url, kw.pop("params"))
                    m.requests += 1
                    resp, raw, sent = await self._direct.send(ctx.method, url, **kw)
                    m.bytes_sent += sent
                    received, decoded = len(raw), False
                else:
                    request = self._client.build_request(ctx.method, ctx.url, **kw)
                    url = ctx.last_url = str(request.url)
                    m.requests += 1
                    m.bytes_sent += int(request.headers.get("content-length") or 0)
                    resp = await self._client.send(request, stream=True)
                    raw, decoded = await read_raw(resp)
                    received = resp.num_bytes_downloaded or len(raw)
            except RETRYABLE as exc:
                fatal = isinstance(exc, AIO_FATAL)
                failure = self._transport_error(exc, ctx, url)
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                fatal = True
                failure = self._transport_error(exc, ctx, url)
            except BaseException:  # cancelled, or a params/data callable failed
                if limiter is not None:
                    limiter.release()
                raise
            t1 = self._clock()
        m.span(t0, t1)
        if failure is not None:
            if limiter is not None:
                limiter.release()
            m.transport_errors += 1
            self._log_debug(ctx.method, url, "ERR", 0, t1 - t0)
            if fatal:
                raise failure
            raise Retry(failure)
        if limiter is not None:
            limiter.observe(resp.headers)
        m.count_status(resp.status_code)
        m.bytes_received += received
        self._log_debug(ctx.method, url, resp.status_code, len(raw), t1 - t0)
        return resp, raw, decoded, url, gen

    def _accepted(
        self, ctx: RequestState, resp: ResponseHead, raw: bytes, decoded: bool, url: str
    ) -> ApiResponse:
        """The response to an accepted status, or the unusable body raised (``Retry`` the
        first time, ``BadResponseError`` when the same body fails the same way again)."""
        status = resp.status_code
        problem: str | None = None
        data: Any = None
        body = raw
        if not decoded:
            try:
                body = decode(resp, raw)
            except httpx.DecodingError as exc:
                problem = decoding_problem(resp, exc)
        if problem is None:
            empty_ok = status != 200 or ctx.method == "HEAD" or ctx.allow_empty
            data, problem = parse_body(body, ctx.parse, empty_ok=empty_ok)
        if problem is not None:
            raise self._unusable_body(ctx, resp, raw, url, problem)
        return ApiResponse(
            status, data, resp.headers, len(body), self._clock() - ctx.start, ctx.attempts
        )

    def _unusable_body(
        self, ctx: RequestState, resp: ResponseHead, raw: bytes, url: str, problem: str
    ) -> Exception:
        """``Retry`` for a body that failed this way for the first time; ``BadResponseError``
        when the previous attempt's body failed with the same fingerprint (``BodyFailure``)."""
        self.metrics.parse_errors += 1
        status = resp.status_code
        ctype = content_type(resp)
        where = f"{self.vendor} {ctx.method} {url} -> {status} ({ctype}, {len(raw)} bytes)"
        fingerprint = BodyFailure.of(raw, problem).fingerprint
        if ctx.bad_body != fingerprint:
            ctx.bad_body = fingerprint
            return Retry(self._err(ResponseParseError, f"{where}: {problem}", ctx, url, status))
        shown = preview(raw, self.redactor.redact)
        return self._err(
            BadResponseError,
            f'{where}: {problem}; the same failure twice in a row, not retried; body starts: "{shown}"',
            ctx,
            url,
            status,
            problem=problem,
            content_type=ctype,
            nbytes=len(raw),
            preview=shown,
        )
