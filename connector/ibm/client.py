"""Async client for the IBM Video Streaming endpoints the connector uses.

Three HTTP clients on the shared core, because IBM rate-limits per endpoint and each
:class:`~connector.http.RateLimiter` must learn one endpoint's ``X-RateLimit-*`` headers:

* the token endpoint (see :mod:`connector.ibm.token`);
* channel listing, ``GET /channels/{id}/videos.json`` (paged, sequential per channel);
* video expiration, ``GET``/``PUT /videos/{id}/expiration.json``: many small requests made
  concurrently (bounded), on the fast transport (httpx over aiohttp; the default httpx
  transport tops out at ~500-700 requests/s on loopback), paced by the limiter so the
  connector stays under the server's limit instead of bouncing off 429s.

A 403 (``lack_of_ownership`` / ``forbidden``) or 404 (``not_found``) for one video is that
video's state, not an error: those statuses are accepted and returned as a check status.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from connector.config import IbmSettings
from connector.http import AsyncHttpClient, RateLimiter, Redactor, RequestMetrics, RetryPolicy
from connector.ibm.token import BearerAuth, IbmAuthError, TokenProvider

PAGESIZE_MAX = 50
CHECK_STATUSES = ("ok", "not_found", "forbidden", "lack_of_ownership")


class IbmApiError(RuntimeError):
    """IBM answered something the connector cannot use (bad shape, foreign next URL...)."""


@dataclass(frozen=True, slots=True)
class Expiration:
    """One video's expiration as read (or set): ``status`` is a CHECK_STATUSES value;
    ``rule``/``expires_at`` (Unix s) only when status is ok."""

    video_id: str
    status: str
    rule: str | None = None
    expires_at: int | None = None


def parse_expiration(video_id: str, status: int, body: Any) -> Expiration:
    """An expiration response as an :class:`Expiration`; ValueError if the body is unusable."""
    if status == 404:
        return Expiration(video_id, "not_found")
    if status == 403:
        error = body.get("error") if isinstance(body, dict) else None
        return Expiration(
            video_id, "lack_of_ownership" if error == "lack_of_ownership" else "forbidden"
        )
    if not isinstance(body, dict) or not isinstance(body.get("expiration"), dict):
        raise ValueError("response has no 'expiration' object")
    exp = body["expiration"]
    rule = exp.get("rule")
    if rule == "never":
        return Expiration(video_id, "ok", "never", None)
    if rule == "at_given_time":
        at = exp.get("expires_at")
        if isinstance(at, bool) or not isinstance(at, int | float) or at <= 0:
            raise ValueError(f"rule at_given_time without a valid expires_at: {at!r}")
        return Expiration(video_id, "ok", "at_given_time", int(at))
    raise ValueError(f"unknown expiration rule: {rule!r}")


class _Failure:
    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


class IbmClient:
    """Authenticated, rate-limit aware access to IBM channel listings and expirations.

    >>> async with IbmClient(IbmSettings.from_env()) as client:  # doctest: +SKIP
    ...     async for page in client.channel_pages("23481001"):
    ...         ...
    """

    def __init__(
        self,
        settings: IbmSettings,
        *,
        redactor: Redactor | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        concurrency: int = 64,
        fast_transport: bool = True,
        expiration_rate: float | None = None,
        listing_rate: float | None = None,
        token_margin_s: float = 60.0,
    ):
        self.settings = settings
        self.redactor = redactor if redactor is not None else Redactor()
        self.redactor.add(settings.client_secret)
        self.concurrency = max(1, int(concurrency))
        self.token_metrics = RequestMetrics()
        self.listing_metrics = RequestMetrics()
        self.expiration_metrics = RequestMetrics()
        self.tokens = TokenProvider(
            settings,
            redactor=self.redactor,
            metrics=self.token_metrics,
            retry=retry,
            timeout=timeout,
            refresh_margin_s=token_margin_s,
        )
        auth = BearerAuth(self.tokens)
        base = settings.api_url.rstrip("/")
        self._base = urlsplit(base)
        self.listing_limiter = RateLimiter(listing_rate)
        # burst: requests delayed by a busy event loop may catch up (the window guard still
        # keeps each window under the server budget)
        self.expiration_limiter = RateLimiter(expiration_rate, burst=max(1, self.concurrency // 4))
        self._listing = AsyncHttpClient(
            base,
            vendor="ibm",
            timeout=timeout,
            retry=retry,
            rate_limiter=self.listing_limiter,
            redactor=self.redactor,
            metrics=self.listing_metrics,
            auth=auth,
            reauthenticate=self.tokens.renew,
            max_connections=4,
        )
        self._expiration = AsyncHttpClient(
            base,
            vendor="ibm",
            timeout=timeout,
            retry=retry,
            rate_limiter=self.expiration_limiter,
            redactor=self.redactor,
            metrics=self.expiration_metrics,
            auth=auth,
            reauthenticate=self.tokens.renew,
            max_connections=self.concurrency,
            fast_transport=fast_transport,
        )

    @property
    def metrics(self) -> RequestMetrics:
        """Every request of this client (token, listing, expiration), merged."""
        return (
            RequestMetrics()
            .merge(self.token_metrics)
            .merge(self.listing_metrics)
            .merge(self.expiration_metrics)
        )

    async def __aenter__(self) -> IbmClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await asyncio.gather(
            self.tokens.aclose(), self._listing.aclose(), self._expiration.aclose()
        )

    # -- listing ---------------------------------------------------------------------------
    def _check_next(self, url: str) -> None:
        """Follow ``paging.next`` only to the configured API host (it gets our token)."""
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) != (self._base.scheme, self._base.netloc):
            raise IbmApiError(f"paging.next points to another host: {self.redactor.url(url)}")

    async def channel_pages(
        self, channel_id: str, pagesize: int = PAGESIZE_MAX
    ) -> AsyncIterator[list[Any]]:
        """Pages (lists of video dicts) of a channel's listing. ``paging.next`` alone decides
        when it ends: a server that clamps ``pagesize`` (asking 100, getting 50) does not end
        the listing early."""
        url = f"/channels/{quote(str(channel_id), safe='')}/videos.json"
        params: dict[str, Any] | None = {"page": 1, "pagesize": int(pagesize)}
        seen: set[str] = set()
        while True:
            resp = await self._listing.request("GET", url, params=params)
            body = resp.data
            if not isinstance(body, dict):
                raise IbmApiError(f"channel {channel_id}: listing is not a JSON object")
            videos = body.get("videos") or []
            if not isinstance(videos, list):
                raise IbmApiError(f"channel {channel_id}: 'videos' is not a list")
            yield videos
            paging = body.get("paging") or {}
            nxt = paging.get("next") if isinstance(paging, dict) else None
            if not nxt:
                return
            nxt = str(nxt)
            self._check_next(nxt)
            if nxt in seen:
                raise IbmApiError(
                    f"channel {channel_id}: paging.next repeats {self.redactor.url(nxt)}"
                )
            seen.add(nxt)
            url, params = nxt, None

    # -- expirations -----------------------------------------------------------------------
    def _exp_path(self, video_id: str) -> str:
        return f"/videos/{quote(str(video_id), safe='')}/expiration.json"

    async def get_expiration(self, video_id: str) -> Expiration:
        """The video's expiration; 403/404 come back as its check status. ValueError when
        the body is unusable."""
        resp = await self._expiration.request(
            "GET", self._exp_path(video_id), accept=(200, 403, 404)
        )
        return parse_expiration(video_id, resp.status, resp.data)

    async def set_never(self, video_id: str) -> str:
        """``PUT rule=never``; returns the check status (ok, not_found, forbidden, ...)."""
        resp = await self._expiration.request(
            "PUT", self._exp_path(video_id), data={"rule": "never"}, accept=(200, 403, 404)
        )
        if resp.status == 200:
            return "ok"
        return parse_expiration(video_id, resp.status, resp.data).status

    async def expirations(
        self, video_ids: Iterable[str], concurrency: int | None = None
    ) -> AsyncIterator[Expiration | tuple[str, ValueError]]:
        """Expirations of ``video_ids``, fetched by ``concurrency`` workers, yielded as they
        arrive (not in order). A video whose body is unusable yields ``(video_id, error)``;
        any other failure (retries exhausted, auth) stops everything and is raised."""
        n = max(1, int(concurrency or self.concurrency))
        ids = iter(video_ids)
        queue: asyncio.Queue = asyncio.Queue(maxsize=4 * n)
        done = object()

        async def worker() -> None:
            try:
                for vid in ids:
                    try:
                        item: Any = await self.get_expiration(vid)
                    except ValueError as exc:
                        item = (vid, exc)
                    await queue.put(item)
            except Exception as exc:  # stop the run: the consumer raises it
                await queue.put(_Failure(exc))
            finally:
                await queue.put(done)

        tasks = [asyncio.create_task(worker()) for _ in range(n)]
        finished = 0
        try:
            while finished < n:
                item = await queue.get()
                if item is done:
                    finished += 1
                    continue
                if isinstance(item, _Failure):
                    raise item.error
                yield item
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


__all__ = [
    "CHECK_STATUSES",
    "Expiration",
    "IbmApiError",
    "IbmAuthError",
    "IbmClient",
    "parse_expiration",
]
