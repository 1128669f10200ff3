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
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TypeVar

import httpx

from connector import secrets
from connector.media.urls import strip_token, url_expiry_ms

K = TypeVar("K")
STATUSES = ("live", "expired", "gone", "forbidden", "timeout", "error")
HEAD_REFUSED = frozenset({405, 501})
USER_AGENT = "video-catalog-connector/0.1 (media probe)"


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


def _host(url: httpx.URL) -> str:
    return f"{url.scheme}://{url.host}:{url.port or ''}"


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
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        if transport is None and fast_transport:
            from httpx_aiohttp import AiohttpTransport

            transport = AiohttpTransport(limits=limits)
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            timeout=httpx.Timeout(timeout_s),
            limits=limits,
            transport=transport,
            headers={"User-Agent": USER_AGENT},
        )

    async def __aenter__(self) -> MediaProber:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- one URL ---------------------------------------------------------------------
    async def probe(self, url: str) -> ProbeResult:
        """The state of ``url`` now (see the module docstring); never raises for what the
        server did, only for a URL that is not http(s) (ValueError)."""
        expires = url_expiry_ms(url)
        if expires is not None and expires <= self._clock_ms():
            reason = f"expired at {_iso(expires)} (read from the URL, no request sent)"
            return ProbeResult("expired", reason, expires_at_ms=expires)
        start = httpx.URL(url)
        if start.scheme not in ("http", "https"):
            raise ValueError(f"not an http(s) URL: {strip_token(url)!r}")
        async with self._slots:
            budget = _Budget()
            try:
                result = await self._follow(start, expires, budget)
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

    async def _follow(self, url: httpx.URL, expires: int | None, budget: _Budget) -> ProbeResult:
        hops = 0
        while True:
            status, location, method = await self._ask(url, budget)
            if 300 <= status < 400 and location:
                if hops >= self.max_redirects:
                    reason = f"more than {self.max_redirects} redirects"
                    return ProbeResult(
                        "error", reason, status, strip_token(str(url)), hops, expires
                    )
                url = url.join(location)
                hops += 1
                continue
            return self._classify(status, method, url, hops, expires)

    async def _ask(self, url: httpx.URL, budget: _Budget) -> tuple[int, str | None, str]:
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
                resp = await self._client.head(url)
                if resp.status_code not in HEAD_REFUSED:
                    return resp.status_code, resp.headers.get("location"), "HEAD"
                budget.requests += 1
                request = self._client.build_request("GET", url, headers={"Range": "bytes=0-0"})
                resp = await self._client.send(request, stream=True)
                await resp.aclose()  # one byte asked for; nothing of the body is needed
                return resp.status_code, resp.headers.get("location"), "GET bytes=0-0"

    def _classify(
        self, status: int, method: str, url: httpx.URL, hops: int, expires: int | None
    ) -> ProbeResult:
        via = f" after {hops} redirect(s)" if hops else ""
        said = f"{method} -> {status}{via}"
        final = strip_token(str(url))
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
        order); at most ``concurrency`` probes are started ahead of the consumer."""
        pending: set[asyncio.Task] = set()
        it = iter(items)

        async def one(key: K, url: str) -> tuple[K, ProbeResult]:
            return key, await self.probe(url)

        try:
            for key, url in it:
                pending.add(asyncio.create_task(one(key, url)))
                if len(pending) >= self.concurrency:
                    done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                    for task in done:
                        yield task.result()
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    yield task.result()
        finally:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)


def _with_requests(result: ProbeResult, n: int) -> ProbeResult:
    return result if n == result.requests else replace(result, requests=n)


__all__ = ["STATUSES", "MediaProber", "ProbeResult"]
