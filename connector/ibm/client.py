"""Async client for the IBM Video Streaming endpoints the connector uses.

Three HTTP clients on the shared core, one per endpoint family:

* the token endpoint (see :mod:`connector.ibm.token`);
* channel listing, ``GET /channels/{id}/videos.json`` (paged, sequential per channel;
  shape and walk bound checked by :mod:`connector.ibm.paging`);
* video expiration, ``GET``/``PUT /videos/{id}/expiration.json``: many small requests made
  concurrently (bounded), on the fast transport (httpx over aiohttp; the default httpx
  transport tops out at ~500-700 requests/s on loopback), paced by a
  :class:`~connector.http.RateLimiter` so the connector stays under the server's limit
  instead of bouncing off 429s.

Which calls share a limiter is the ``ratelimit_scope`` setting (see :class:`IbmClient`).

A 403 (``lack_of_ownership`` / ``forbidden``) or 404 (``not_found``) for one video is that
video's state, not an error: those statuses are accepted and returned as a check status.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import orjson

from connector.config import IBM_RATELIMIT_SCOPES, IbmSettings
from connector.http import (
    AsyncHttpClient,
    HostBudgets,
    RateLimiter,
    Redactor,
    RequestLimiter,
    RequestMetrics,
    RetryPolicy,
    SharedReauth,
)
from connector.ibm.paging import (
    HARD_MAX_PAGES,
    IbmApiError,
    ListingBound,
    item_count,
    listing_videos,
)
from connector.ibm.token import BearerAuth, IbmAuthError, TokenProvider
from connector.kit.beside import worker_items
from connector.records import epoch_ms

PAGESIZE_MAX = 50
CHECK_STATUSES = ("ok", "not_found", "forbidden", "lack_of_ownership")


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
        at_ms = epoch_ms(exp.get("expires_at"), "expires_at", unit="s", required=True)
        return Expiration(video_id, "ok", "at_given_time", at_ms // 1000)
    raise ValueError(f"unknown expiration rule: {rule!r}")


def _json_or_empty(body: bytes) -> Any:
    """A JSON body, or None for an empty one (a PUT's ``200 OK`` has no body)."""
    return orjson.loads(body) if body.strip() else None


class _Failure:
    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


class IbmClient:
    """Authenticated, rate-limit aware access to IBM channel listings and expirations.

    Rate-limit scope: IBM's public pages describe limits per endpoint in one place and
    per client address in another. ``ratelimit_scope`` (default: the settings' value,
    ``IBM_VIDEO_RATELIMIT_SCOPE``, itself ``"host"`` by default) chooses:

    * ``"host"``: one budget for every call to the API host (listing, expiration, and
      token calls when the token URL is on the same host; a token host elsewhere keeps
      its own) until the ``X-RateLimit-Limit`` values the endpoints report show separate
      budgets; then each is paced by its own (:class:`~connector.http.HostBudgets`).
      Safe whichever way the vendor counts, and not held to the smallest budget when the
      headers prove the budgets apart.
    * ``"endpoint"``: a limiter each for listing, expiration and token calls, each
      learning its own endpoint's ``X-RateLimit-*`` headers; faster when the vendor
      really counts per endpoint.

    ``listing_rate`` / ``expiration_rate`` cap requests/s (in ``"host"`` scope the shared
    limiter takes the lower of the two given). ``transport`` replaces the network for
    every call (tests). ``max_listing_pages`` is the hard cap of one channel's walk.

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
        ratelimit_scope: str | None = None,
        max_listing_pages: int = HARD_MAX_PAGES,
        transport: httpx.AsyncBaseTransport | None = None,
    ):
        self.settings = settings
        self.redactor = redactor if redactor is not None else Redactor()
        self.redactor.add(settings.client_secret)
        self.concurrency = max(1, int(concurrency))
        self.max_listing_pages = int(max_listing_pages)
        self.listing_look_backs = 0  # pages read again because a channel shrank mid-listing
        self.ratelimit_scope = ratelimit_scope or settings.ratelimit_scope
        if self.ratelimit_scope not in IBM_RATELIMIT_SCOPES:
            raise ValueError(f"ratelimit_scope must be one of {IBM_RATELIMIT_SCOPES}")
        self.token_metrics = RequestMetrics()
        self.listing_metrics = RequestMetrics()
        self.expiration_metrics = RequestMetrics()
        base = settings.api_url.rstrip("/")
        self._base = urlsplit(base)
        token_limiter = self._make_limiters(listing_rate, expiration_rate)
        self.tokens = TokenProvider(
            settings,
            redactor=self.redactor,
            metrics=self.token_metrics,
            retry=retry,
            timeout=timeout,
            refresh_margin_s=token_margin_s,
            rate_limiter=token_limiter,
            transport=transport,
        )
        common: dict[str, Any] = dict(
            vendor="ibm",
            timeout=timeout,
            retry=retry,
            redactor=self.redactor,
            auth=BearerAuth(self.tokens),
            # one renewal for a 401 seen by either client (they share the token)
            reauthenticate=SharedReauth(self.tokens.renew),
            transport=transport,
            # listing and expiration calls together keep at most `concurrency` in flight
            slots=asyncio.Semaphore(self.concurrency),
        )
        self._listing = AsyncHttpClient(
            base, rate_limiter=self.listing_limiter, metrics=self.listing_metrics,
            max_connections=4, **common,
        )  # fmt: skip
        self._expiration = AsyncHttpClient(
            base, rate_limiter=self.expiration_limiter, metrics=self.expiration_metrics,
            max_connections=self.concurrency, fast_transport=fast_transport, **common,
        )  # fmt: skip

    def _make_limiters(
        self, listing_rate: float | None, expiration_rate: float | None
    ) -> RequestLimiter | None:
        """Set ``listing_limiter`` / ``expiration_limiter`` for the scope; return the token
        endpoint's limiter (None: the token provider makes its own)."""
        # burst: requests delayed by a busy event loop may catch up (the window guard
        # still keeps each window under the server budget)
        burst = max(1, self.concurrency // 4)
        if self.ratelimit_scope == "endpoint":
            self.listing_limiter = RateLimiter(listing_rate)
            self.expiration_limiter = RateLimiter(expiration_rate, burst=burst)
            return None
        rates = [r for r in (listing_rate, expiration_rate) if r is not None]
        cap = min(rates) if rates else None
        budgets = HostBudgets(lambda: RateLimiter(cap, burst=burst), name="ibm")
        self.listing_limiter = budgets.family("listing")
        self.expiration_limiter = budgets.family("expiration")
        token = urlsplit(self.settings.token_url)
        same_host = (token.scheme, token.netloc) == (self._base.scheme, self._base.netloc)
        return budgets.family("token") if same_host else None

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
    def _check_next(self, url: str, channel_id: str) -> None:
        """Follow ``paging.next`` only to the configured API host (it gets our token)."""
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) != (self._base.scheme, self._base.netloc):
            raise IbmApiError(
                f"IBM channel {channel_id} listing: paging.next points to another host: "
                f"{self.redactor.url(url)}",
                channel_id=channel_id,
            )

    async def channel_pages(
        self, channel_id: str, pagesize: int = PAGESIZE_MAX
    ) -> AsyncIterator[list[Any]]:
        """Pages (lists of video dicts) of a channel's listing. ``paging.next`` alone decides
        when it ends: a server that clamps ``pagesize`` (asking 100, getting 50) does not end
        the listing early.

        IbmApiError (``channel_id`` set) when a page is not a listing (an error envelope
        with status 200, no ``videos`` list), when ``next`` leaves the API host or repeats
        a URL, or when the walk outruns its :class:`~connector.ibm.paging.ListingBound`.
        """
        channel_id = str(channel_id)
        url = f"/channels/{quote(channel_id, safe='')}/videos.json"
        params: dict[str, Any] | None = {"page": 1, "pagesize": int(pagesize)}
        seen_urls: set[str] = set()
        bound = ListingBound(channel_id, max_pages=self.max_listing_pages)
        fetched: list[tuple[str, dict[str, Any] | None]] = []  # pages asked, in order
        count: int | None = None  # the channel's item_count as the last page said
        while True:
            resp = await self._listing.request("GET", url, params=params)
            videos, paging = listing_videos(resp.data, channel_id, self.redactor.redact)
            bound.check(videos, paging)
            fetched.append((url, params))
            yield videos
            async for again in self._look_back(channel_id, fetched, count, paging, len(videos)):
                yield again
            count = item_count(paging) if item_count(paging) is not None else count
            nxt = paging.get("next")
            if not nxt:
                return
            self._check_next(nxt, channel_id)
            if nxt in seen_urls:
                raise IbmApiError(
                    f"IBM channel {channel_id} listing: paging.next repeats "
                    f"{self.redactor.url(nxt)}",
                    channel_id=channel_id,
                )
            seen_urls.add(nxt)
            url, params = nxt, None

    async def _look_back(
        self,
        channel_id: str,
        fetched: list[tuple[str, dict[str, Any] | None]],
        count: int | None,
        paging: dict,
        page_len: int,
    ) -> AsyncIterator[list[Any]]:
        """Pages fetched again because the channel shrank while it was being listed.

        The listing is newest first and offset-paged: a video deleted from a page already
        served pulls every later video one place up, so the first video of the next page
        lands at the end of the page before it, which was already read. When the
        ``item_count`` a page reports is below the previous page's, the pages before this
        one (enough to cover the shrink) are read again. Uploads push videos down instead:
        seen twice, kept once by the warehouse's upsert.
        """
        now = item_count(paging)
        if count is None or now is None or now >= count or len(fetched) < 2:
            return
        back = min(len(fetched) - 1, -(-(count - now) // max(1, page_len)))
        self.listing_look_backs += back
        for url, params in fetched[-1 - back : -1]:
            resp = await self._listing.request("GET", url, params=params)
            videos, _ = listing_videos(resp.data, channel_id, self.redactor.redact)
            yield videos

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
            "PUT",
            self._exp_path(video_id),
            data={"rule": "never"},
            accept=(200, 403, 404),
            allow_empty=True,  # the doc describes no body for the 200
            parse=_json_or_empty,  # nor does it for whitespace
        )
        if resp.status == 200:
            return "ok"
        return parse_expiration(video_id, resp.status, resp.data).status

    async def expirations(
        self, video_ids: Iterable[str] | asyncio.Queue, concurrency: int | None = None
    ) -> AsyncIterator[Expiration | tuple[str, ValueError]]:
        """Expirations of ``video_ids``, fetched by ``concurrency`` workers, yielded as they
        arrive (not in order). ``video_ids`` may be an ``asyncio.Queue`` that another task
        fills while this runs, ended by a ``None``. A video whose body is unusable yields
        ``(video_id, error)``; any other failure (retries exhausted, auth) stops everything
        and is raised."""
        n = max(1, int(concurrency or self.concurrency))
        ids = worker_items(video_ids)
        queue: asyncio.Queue = asyncio.Queue(maxsize=4 * n)
        done = object()

        async def worker() -> None:
            try:
                async for vid in ids():
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
