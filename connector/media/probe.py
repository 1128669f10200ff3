"""The media URL prober: is a video URL alive, and if not, why.

One probe (:meth:`MediaProber.probe`):

1. the URL's own expiry (``expires``, see :mod:`connector.media.urls`) is read first: an
   expired URL is ``expired`` without any request;
2. ``HEAD``; when the server refuses HEAD (405, 501) a one-byte ``GET`` with
   ``Range: bytes=0-0`` (its body is not read);
3. redirects are followed by hand (at most ``max_redirects``), each hop under the limit
   of its own host;
4. the final status is the state: 2xx ``live``, 404 / 410 ``gone``, 403 ``forbidden`` (or
   ``expired`` when the URL's expiry passed meanwhile), anything else ``error``; no answer
   within ``timeout_s`` of the first request (all hops together; time spent waiting for a
   slot is not counted) is ``timeout``, a connection failure ``error``.
   A probe never raises for what the server did.

At most ``concurrency`` probes run at once and at most ``per_host`` requests go to one host
(scheme, host, port) at once. Reasons and URLs in results carry no secret: URLs go through
:func:`~connector.media.urls.strip_token` and error texts through the scrubber.

Requests go straight through aiohttp (``fast_transport``, the default): a probe needs a
status and a ``Location``, and httpx's request and response models cost about four times
aiohttp's own CPU per request (bench/iris_probe.py). An httpx transport given as
``transport`` (tests' ``MockTransport``), or ``fast_transport=False``, uses httpx instead;
both answer the same.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import httpx

from connector import secrets
from connector.media.urls import strip_token, url_expiry_ms

K = TypeVar("K")
STATUSES = ("live", "expired", "gone", "forbidden", "timeout", "error")
HEAD_REFUSED = frozenset({405, 501})
USER_AGENT = "video-catalog-connector/0.1 (media probe)"
RANGE_ONE_BYTE = {"Range": "bytes=0-0"}
# a URL made only of these is sent byte for byte (a signed query must not be re-quoted)
_SENDABLE = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One URL's state: ``status`` one of :data:`STATUSES`; ``reason`` one line for people;
    ``http_status`` the last answer's status (None without one); ``final_url`` where the
    redirects led (token removed); ``expires_at_ms`` the expiry read from the URL."""

    status: str
    reason: str
    http_status: int | None = None
    final_url: str | None = None
    redirects: int = 0
    expires_at_ms: int | None = None
    requests: int = 0


class _Budget:
    """One probe's time budget (a loop-clock deadline, set when its first request is
    sent) and the requests it made."""

    __slots__ = ("deadline", "requests")

    def __init__(self) -> None:
        self.deadline: float | None = None
        self.requests = 0


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _host(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or ''}"


class _HttpxSender:
    """One request through httpx (a given transport, or httpx's own)."""

    def __init__(self, concurrency: int, timeout_s: float, transport) -> None:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            timeout=httpx.Timeout(timeout_s),
            limits=limits,
            transport=transport,
            headers={"User-Agent": USER_AGENT},
        )

    async def send(self, method: str, url: str) -> tuple[int, str | None]:
        if method == "HEAD":
            resp = await self._client.head(url)
            return resp.status_code, resp.headers.get("location")
        request = self._client.build_request("GET", url, headers=RANGE_ONE_BYTE)
        resp = await self._client.send(request, stream=True)
        await resp.aclose()  # one byte asked for; nothing of the body is needed
        return resp.status_code, resp.headers.get("location")

    async def aclose(self) -> None:
        await self._client.aclose()


class _AiohttpSender:
    """One request straight through aiohttp: pooled keep-alive connections, no cookies,
    no decompression, the body never read (a Range GET's connection is closed after its
    head: a server that ignored the range would otherwise stream the whole file)."""

    def __init__(self, concurrency: int) -> None:
        import aiohttp
        import yarl

        self._url = yarl.URL
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=concurrency, ttl_dns_cache=300),
            timeout=aiohttp.ClientTimeout(total=None),  # the probe's own deadline rules
            headers={"User-Agent": USER_AGENT},
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
        )

    async def send(self, method: str, url: str) -> tuple[int, str | None]:
        target: Any = self._url(url, encoded=True) if _SENDABLE.fullmatch(url) else url
        if method == "HEAD":
            async with self._session.head(target, allow_redirects=False) as resp:
                return resp.status, resp.headers.get("Location")
        resp = await self._session.get(target, headers=RANGE_ONE_BYTE, allow_redirects=False)
        resp.close()
        return resp.status, resp.headers.get("Location")

    async def aclose(self) -> None:
        await self._session.close()


class MediaProber:
    """Probes media URLs with bounded concurrency and a per-host limit.

    >>> async with MediaProber(timeout_s=3) as prober:  # doctest: +SKIP
    ...     result = await prober.probe("https://cdn.example.com/v.mp4?token=t&expires=1")
    """

    def __init__(
        self,
        *,
        timeout_s: float = 5.0,
        concurrency: int = 64,
        per_host: int = 16,
        max_redirects: int = 5,
        transport: httpx.AsyncBaseTransport | None = None,
        fast_transport: bool = True,
        clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        if timeout_s <= 0 or concurrency < 1 or per_host < 1 or max_redirects < 0:
            raise ValueError("timeout_s > 0, concurrency >= 1, per_host >= 1, max_redirects >= 0")
        self.timeout_s = timeout_s
        self.concurrency = concurrency
        self.per_host = per_host
        self.max_redirects = max_redirects
        self._clock_ms = clock_ms
        self._slots = asyncio.Semaphore(concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self.requests = 0
        self._sender: _HttpxSender | _AiohttpSender
        if transport is None and fast_transport:
            self._sender = _AiohttpSender(concurrency)
        else:
            self._sender = _HttpxSender(concurrency, timeout_s, transport)

    async def __aenter__(self) -> MediaProber:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._sender.aclose()

    # -- one URL ---------------------------------------------------------------------
    async def probe(self, url: str) -> ProbeResult:
        """The state of ``url`` now (see the module docstring); never raises for what the
        server did, only for a URL that is not http(s) (ValueError)."""
        expires = url_expiry_ms(url)
        if expires is not None and expires <= self._clock_ms():
            reason = f"expired at {_iso(expires)} (read from the URL, no request sent)"
            return ProbeResult("expired", reason, expires_at_ms=expires)
        if urlsplit(url).scheme.lower() not in ("http", "https"):
            raise ValueError(f"not an http(s) URL: {strip_token(url)!r}")
        async with self._slots:
            budget = _Budget()
            try:
                result = await self._follow(url, expires, budget)
            except (TimeoutError, httpx.TimeoutException):
                result = ProbeResult(
                    "timeout", f"no answer within {self.timeout_s:g}s", expires_at_ms=expires
                )
            except (httpx.HTTPError, OSError) as exc:
                result = self._failure(exc, expires)
            except Exception as exc:  # aiohttp's own errors, through the transport
                if type(exc).__module__.split(".")[0] != "aiohttp":
                    raise
                result = self._failure(exc, expires)
        self.requests += budget.requests
        return _with_requests(result, budget.requests)

    def _failure(self, exc: BaseException, expires: int | None) -> ProbeResult:
        detail = secrets.redact_text(str(exc))[:160] or "no detail"
        return ProbeResult("error", f"{type(exc).__name__}: {detail}", expires_at_ms=expires)

    async def _follow(self, url: str, expires: int | None, budget: _Budget) -> ProbeResult:
        hops = 0
        while True:
            status, location, method = await self._ask(url, budget)
            if 300 <= status < 400 and location:
                if hops >= self.max_redirects:
                    reason = f"more than {self.max_redirects} redirects"
                    return ProbeResult("error", reason, status, strip_token(url), hops, expires)
                url = urljoin(url, location)
                hops += 1
                continue
            return self._classify(status, method, url, hops, expires)

    async def _ask(self, url: str, budget: _Budget) -> tuple[int, str | None, str]:
        """(status, Location, method) of HEAD, or of a one-byte GET when HEAD is refused.
        The probe's time budget starts when its first request leaves (not while it waits
        for a slot of its host) and covers every hop after it."""
        host = _host(url)
        limit = self._hosts.get(host)
        if limit is None:
            limit = self._hosts[host] = asyncio.Semaphore(self.per_host)
        async with limit:
            loop = asyncio.get_running_loop()
            if budget.deadline is None:
                budget.deadline = loop.time() + self.timeout_s
            async with asyncio.timeout_at(budget.deadline):
                budget.requests += 1
                status, location = await self._sender.send("HEAD", url)
                if status not in HEAD_REFUSED:
                    return status, location, "HEAD"
                budget.requests += 1
                status, location = await self._sender.send("GET", url)
                return status, location, "GET bytes=0-0"

    def _classify(
        self, status: int, method: str, url: str, hops: int, expires: int | None
    ) -> ProbeResult:
        via = f" after {hops} redirect(s)" if hops else ""
        said = f"{method} -> {status}{via}"
        final = strip_token(url)
        if 200 <= status < 300:
            return ProbeResult("live", said, status, final, hops, expires)
        if status in (404, 410):
            return ProbeResult("gone", said, status, final, hops, expires)
        if status == 403:
            if expires is not None and expires <= self._clock_ms():
                why = f"{said}; the URL expired at {_iso(expires)}"
                return ProbeResult("expired", why, status, final, hops, expires)
            return ProbeResult("forbidden", said, status, final, hops, expires)
        if 300 <= status < 400:
            return ProbeResult("error", f"{said} without a Location", status, final, hops, expires)
        return ProbeResult("error", said, status, final, hops, expires)

    # -- many URLs -------------------------------------------------------------------
    async def probe_many(
        self, items: Iterable[tuple[K, str]]
    ) -> AsyncIterator[tuple[K, ProbeResult]]:
        """``(key, result)`` for each ``(key, url)``, yielded as the probes finish (not in
        order); at most ``concurrency`` probes are started ahead of the consumer.

        Finished tasks land in a queue through their done-callback (``asyncio.wait`` would
        re-register a callback on every pending task for each result)."""
        pending: set[asyncio.Task] = set()
        finished: deque[asyncio.Task] = deque()
        wake = asyncio.Event()

        def landed(task: asyncio.Task) -> None:
            finished.append(task)
            wake.set()

        async def one(key: K, url: str) -> tuple[K, ProbeResult]:
            return key, await self.probe(url)

        async def next_done() -> asyncio.Task:
            while not finished:
                wake.clear()
                await wake.wait()
            task = finished.popleft()
            pending.discard(task)
            return task

        try:
            for key, url in items:
                task = asyncio.create_task(one(key, url))
                pending.add(task)
                task.add_done_callback(landed)
                while len(pending) >= self.concurrency or finished:
                    yield (await next_done()).result()
            while pending:
                yield (await next_done()).result()
        finally:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)


def _with_requests(result: ProbeResult, n: int) -> ProbeResult:
    return result if n == result.requests else replace(result, requests=n)


__all__ = ["STATUSES", "MediaProber", "ProbeResult"]
