"""``AsyncHttpClient``: the one HTTP core every vendor client uses.

Per attempt: take a connection slot, ``await rate_limiter.acquire()``, send, feed the
response headers to ``rate_limiter.observe``. Outcomes:

* status in ``accept`` and the body parses -> ``ApiResponse``;
* status in ``accept`` but the body does not parse (truncated) -> retried;
* 429 -> the limiter pauses every caller for the server's wait, then retried;
* any 5xx, timeouts, connection/protocol errors -> retried;
* 401 -> ``reauthenticate()`` (single-flight across concurrent requests), one immediate
  retry; a second 401 -> ``AuthenticationError``;
* anything else -> ``ClientError`` (not retried).

Retries run in tenacity's ``AsyncRetrying`` with ``RetryPolicy.compute_wait``; when
attempts or time run out -> ``RetryExhaustedError``. Errors and log lines carry only
redacted URLs and text; raw httpx/aiohttp exceptions are never chained.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type

from .errors import (
    AuthenticationError,
    ClientError,
    HttpError,
    ResponseParseError,
    RetryExhaustedError,
    TransportFailure,
)
from .metrics import RequestMetrics
from .ratelimit import RateLimiter
from .redact import Redactor, default_redactor, install_log_redaction
from .retry import RetryPolicy

logger = logging.getLogger("connector.http")

USER_AGENT = "video-catalog-connector/0.1"
_EXCERPT = 500

_RETRYABLE_HTTPX: tuple[type[BaseException], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.DecodingError,
)


def _aiohttp_errors() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """(retryable, fatal) aiohttp exceptions that httpx_aiohttp may let through."""
    try:
        import aiohttp
    except ImportError:  # pragma: no cover
        return (), ()
    return (aiohttp.ClientError,), (aiohttp.InvalidURL,)


_AIO_RETRYABLE, _AIO_FATAL = _aiohttp_errors()
_RETRYABLE = _RETRYABLE_HTTPX + _AIO_RETRYABLE + (TimeoutError, OSError)


@dataclass(frozen=True, slots=True)
class ApiResponse:
    """A successful response: ``data`` is the parsed body (``None`` for an empty
    non-200 body, raw bytes when ``parse=None``); ``nbytes`` the body size;
    ``elapsed_s`` the time spent in ``request()`` including retries; ``attempts`` the
    number of attempts it took."""

    status: int
    data: Any
    headers: httpx.Headers
    nbytes: int
    elapsed_s: float
    attempts: int = 1


class _Retry(Exception):
    """Internal: one failed attempt that may be retried."""

    def __init__(
        self,
        error: HttpError,
        *,
        headers: httpx.Headers | None = None,
        immediate: bool = False,
    ) -> None:
        super().__init__(error.message)
        self.error = error
        self.headers = headers
        self.immediate = immediate


class _Ctx:
    __slots__ = (
        "method",
        "url",
        "kwargs",
        "accept",
        "parse",
        "start",
        "attempts",
        "reauthed",
        "last_url",
        "limiter",
    )

    def __init__(
        self,
        method: str,
        url: str,
        kwargs: dict[str, Any],
        accept: Collection[int],
        parse: Callable[[bytes], Any] | None,
        start: float,
        limiter: RateLimiter | None,
    ) -> None:
        self.method = method
        self.url = url
        self.kwargs = kwargs
        self.accept = accept
        self.parse = parse
        self.start = start
        self.attempts = 0
        self.reauthed = False
        self.last_url = ""
        self.limiter = limiter


class AsyncHttpClient:
    """Async HTTP client for one vendor: retries, rate limiting, re-auth, redaction,
    metrics. Use as ``async with AsyncHttpClient(...) as c: await c.request(...)``.

    Relative ``url``s are joined to ``base_url`` (its path is kept: ``base/uplynk`` +
    ``/api2/x`` -> ``base/uplynk/api2/x``); absolute URLs are used as they are.
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
        rate_limiter: RateLimiter | None = None,
        redactor: Redactor | None = None,
        metrics: RequestMetrics | None = None,
        auth: httpx.Auth | None = None,
        reauthenticate: Callable[[], Awaitable[None]] | None = None,
        max_connections: int = 20,
        fast_transport: bool = False,
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
        self._reauthenticate = reauthenticate
        self._sleep = sleep
        self._clock = clock
        self._sem = asyncio.Semaphore(max_connections)
        self._reauth_lock = asyncio.Lock()
        self._auth_gen = 0
        limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        if transport is None and fast_transport:
            from httpx_aiohttp import AiohttpTransport

            transport = AiohttpTransport(limits=limits)
        hdrs = {"User-Agent": USER_AGENT}
        hdrs.update(headers or {})
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
        await self._client.aclose()

    # -- public API ------------------------------------------------------------------
    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        accept: Collection[int] = (200,),
        parse: Callable[[bytes], Any] | None = orjson.loads,
        timeout: float | httpx.Timeout | None = None,
        rate_limiter: RateLimiter | None = None,
    ) -> ApiResponse:
        """Send one logical request (with retries) and return the parsed response.

        ``rate_limiter`` overrides the client's limiter for this request (vendors such
        as IBM limit per endpoint: give each endpoint family its own limiter).

        Raises ``ClientError``, ``AuthenticationError``, ``RetryExhaustedError`` or
        ``TransportFailure`` (non-retryable transport problem such as a bad URL).
        """
        kwargs: dict[str, Any] = {"params": params, "data": data, "headers": headers}
        if json is not None:
            kwargs["content"] = orjson.dumps(json)
            h = dict(headers or {})
            h.setdefault("Content-Type", "application/json")
            kwargs["headers"] = h
        elif content is not None:
            kwargs["content"] = content
        if timeout is not None:
            kwargs["timeout"] = timeout
        ctx = _Ctx(
            method.upper(),
            url,
            kwargs,
            accept,
            parse,
            self._clock(),
            rate_limiter or self.rate_limiter,
        )
        # Fast path: the first attempt runs outside tenacity (its per-call machinery
        # costs tens of microseconds); a retryable failure is replayed into the
        # tenacity loop as its attempt 1.
        try:
            return await self._attempt(ctx)
        except _Retry as exc:
            first: _Retry | None = exc

        async def attempt(c: _Ctx) -> ApiResponse:
            nonlocal first
            if first is not None:
                replay, first = first, None
                raise replay
            return await self._attempt(c)

        retrying = AsyncRetrying(
            stop=self._stop,
            wait=self._wait,
            retry=retry_if_exception_type(_Retry),
            sleep=self._sleep_counted,
            before_sleep=self._before_sleep,
            retry_error_callback=self._give_up,
        )
        return await retrying(attempt, ctx)

    async def get(self, url: str, **kw: Any) -> ApiResponse:
        return await self.request("GET", url, **kw)

    async def post(self, url: str, **kw: Any) -> ApiResponse:
        return await self.request("POST", url, **kw)

    # -- one attempt -----------------------------------------------------------------
    def _err(
        self,
        cls: type[HttpError],
        msg: str,
        ctx: _Ctx,
        url: str,
        status: int | None = None,
        **kw: Any,
    ) -> HttpError:
        return cls(
            msg,
            vendor=self.vendor,
            method=ctx.method,
            url=url,
            status=status,
            redactor=self.redactor,
            **kw,
        )

    def _full_url(self, ctx: _Ctx) -> str:
        if ctx.last_url:
            return ctx.last_url
        try:
            return str(self._client._merge_url(ctx.url))
        except Exception:
            return str(ctx.url)

    async def _attempt(self, ctx: _Ctx) -> ApiResponse:
        ctx.attempts += 1
        m = self.metrics
        limiter = ctx.limiter
        failure: HttpError | None = None
        fatal = False
        resp: httpx.Response | None = None
        url = ""
        async with self._sem:
            if limiter is not None:
                waited = await limiter.acquire()
                if waited:
                    m.wait_s += waited
            gen = self._auth_gen
            t0 = self._clock()
            try:
                request = self._client.build_request(ctx.method, ctx.url, **ctx.kwargs)
                url = ctx.last_url = str(request.url)
                m.requests += 1
                m.bytes_sent += int(request.headers.get("content-length") or 0)
                resp = await self._client.send(request)
            except _RETRYABLE as exc:
                if isinstance(exc, _AIO_FATAL):
                    fatal = True
                failure = self._transport_error(exc, ctx, url)
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                fatal = True
                failure = self._transport_error(exc, ctx, url)
            except asyncio.CancelledError:
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
            raise _Retry(failure)
        assert resp is not None
        if limiter is not None:
            limiter.observe(resp.headers)
        status = resp.status_code
        body = resp.content
        m.count_status(status)
        m.bytes_received += resp.num_bytes_downloaded or len(body)
        self._log_debug(ctx.method, url, status, len(body), t1 - t0)

        if status in ctx.accept:
            if ctx.parse is None:
                data: Any = body
            elif not body and (status != 200 or ctx.method == "HEAD"):
                data = None
            else:
                parse_error: HttpError | None = None
                try:
                    data = ctx.parse(body)
                except Exception as exc:  # any parser, any error: the body is unusable
                    parse_error = self._err(
                        ResponseParseError,
                        f"{self.vendor} {ctx.method} {url} -> {status}: unparseable body "
                        f"({len(body)} bytes): {type(exc).__name__}: {exc}",
                        ctx,
                        url,
                        status,
                    )
                if parse_error is not None:
                    m.parse_errors += 1
                    raise _Retry(parse_error)
            return ApiResponse(
                status, data, resp.headers, len(body), self._clock() - ctx.start, ctx.attempts
            )

        reason = resp.reason_phrase or ""
        if status == 401:
            if self._reauthenticate is None or ctx.reauthed:
                raise self._err(
                    AuthenticationError,
                    f"{self.vendor} {ctx.method} {url} -> 401 {reason}"
                    + (" after re-authentication" if ctx.reauthed else "")
                    + f": {_excerpt(body, 200)}",
                    ctx,
                    url,
                    status,
                )
            ctx.reauthed = True
            await self._reauth(gen, ctx, url)
            raise _Retry(self._err(HttpError, f"401 {reason}", ctx, url, status), immediate=True)
        if status == 429 or 500 <= status < 600:
            if status == 429 and limiter is not None:
                pause = self.retry.header_wait(resp.headers, status)
                limiter.pause_for(
                    min(pause, self.retry.max_wait_s)
                    if pause is not None
                    else self.retry.initial_wait_s
                )
            raise _Retry(
                self._err(HttpError, f"{status} {reason}: {_excerpt(body, 200)}", ctx, url, status),
                headers=resp.headers,
            )
        excerpt = _excerpt(body, _EXCERPT)
        raise self._err(
            ClientError,
            f"{self.vendor} {ctx.method} {url} -> {status} {reason}: {excerpt[:200]}",
            ctx,
            url,
            status,
            body_excerpt=excerpt,
        )

    def _transport_error(self, exc: BaseException, ctx: _Ctx, url: str) -> HttpError:
        url = url or self._full_url(ctx)
        detail = str(exc) or "no detail"
        return self._err(
            TransportFailure,
            f"{self.vendor} {ctx.method} {url}: {type(exc).__name__}: {detail}",
            ctx,
            url,
        )

    async def _reauth(self, gen: int, ctx: _Ctx, url: str) -> None:
        """Single-flight re-authentication: skip if another request already did it
        after this attempt was sent."""
        assert self._reauthenticate is not None
        async with self._reauth_lock:
            if self._auth_gen != gen:
                return
            failure: HttpError | None = None
            try:
                await self._reauthenticate()
            except HttpError:
                raise
            except Exception as exc:
                failure = self._err(
                    AuthenticationError,
                    f"{self.vendor} re-authentication failed: {type(exc).__name__}: {exc}",
                    ctx,
                    url,
                    401,
                )
            if failure is not None:
                raise failure
            self._auth_gen += 1
            self.metrics.reauths += 1

    def _log_debug(self, method: str, url: str, status: object, nbytes: int, dt: float) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s %s -> %s %dB %.1fms",
                self.vendor,
                method,
                self.redactor.url(url),
                status,
                nbytes,
                dt * 1000,
            )

    # -- tenacity hooks --------------------------------------------------------------
    @staticmethod
    def _ctx(rs: RetryCallState) -> _Ctx:
        return rs.args[0]

    def _wait(self, rs: RetryCallState) -> float:
        exc = rs.outcome.exception() if rs.outcome else None
        if not isinstance(exc, _Retry):
            return 0.0
        if exc.immediate:
            return 0.0
        ctx = self._ctx(rs)
        return self.retry.compute_wait(
            rs.attempt_number,
            headers=exc.headers,
            status=exc.error.status,
            elapsed_s=self._clock() - ctx.start,
        )

    def _stop(self, rs: RetryCallState) -> bool:
        if rs.attempt_number >= self.retry.max_attempts:
            return True
        return self._clock() - self._ctx(rs).start >= self.retry.max_elapsed_s

    async def _sleep_counted(self, seconds: float) -> None:
        if seconds > 0:
            self.metrics.wait_s += seconds
        await self._sleep(seconds)

    def _before_sleep(self, rs: RetryCallState) -> None:
        self.metrics.retries += 1
        exc = rs.outcome.exception() if rs.outcome else None
        reason = exc.error.message if isinstance(exc, _Retry) else type(exc).__name__
        ctx = self._ctx(rs)
        logger.warning(
            "%s %s %s: attempt %d/%d failed (%s); retrying in %.2fs",
            self.vendor,
            ctx.method,
            self.redactor.url(self._full_url(ctx)),
            rs.attempt_number,
            self.retry.max_attempts,
            self.redactor.redact(reason),
            rs.upcoming_sleep,
        )

    def _give_up(self, rs: RetryCallState) -> ApiResponse:
        ctx = self._ctx(rs)
        exc = rs.outcome.exception() if rs.outcome else None
        last = exc.error if isinstance(exc, _Retry) else None
        elapsed = self._clock() - ctx.start
        url = self._full_url(ctx)
        raise self._err(
            RetryExhaustedError,
            f"{self.vendor} {ctx.method} {url}: gave up after {rs.attempt_number} attempts "
            f"in {elapsed:.1f}s; last error: {last.message if last else exc!r}",
            ctx,
            url,
            last.status if last else None,
            attempts=rs.attempt_number,
            last_error=last,
        )


def _excerpt(body: bytes, n: int) -> str:
    text = body[: n * 2].decode("utf-8", "replace").strip()
    text = " ".join(text.split())
    return text[:n] + ("..." if len(text) > n else "")
