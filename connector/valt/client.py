"""Async client for the VALT API v3 calls the connector makes.

Two HTTP clients on the shared core: one for the login (no token), one for the API, whose
auth (:class:`~connector.valt.auth.QueryTokenAuth`) puts the cached token in the query
string and whose ``reauthenticate`` hook logs in again once on a 401. This module adds
VALT's envelope (``{"data": ...}``) and checks the shape of every answer: a body without
what the call promises is a :class:`ValtShapeError`, never an empty result.

* :meth:`ValtClient.list_page`: ``POST /api/v3/records`` with ``offset``, ``limit`` and an
  optional ``start_date`` (``MM-DD-YYYY``);
* :meth:`ValtClient.details`: ``GET /api/v3/records/{id}``; a 404 in VALT's RFC 7807 shape
  is "deleted or unknown" (None); any other 404 body is an error, never a deletion;
* :meth:`ValtClient.details_many`: details of many ids, a bounded number in flight;
* :meth:`ValtClient.mint_url`: ``GET /api/v3/records/download/{recordID}/{videoID}``, the
  URL found at the top level or under ``data``; its token is registered with the redactor
  at once, and :class:`MintedUrl` carries the URL without it plus the JWT's expiry.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from connector.config import ValtSettings
from connector.http import (
    AsyncHttpClient,
    AuthenticationError,
    Redactor,
    RequestMetrics,
    RetryPolicy,
    default_redactor,
)
from connector.timeutil import now_ms
from connector.valt.auth import QueryTokenAuth, ValtAuthError, ValtSession
from connector.valt.urls import jwt_expiry_ms, query_token, strip_token

RECORDS = "/api/v3/records"
DOWNLOAD = "/api/v3/records/download"
NOT_FOUND_DETAIL = "Not Found"


class ValtApiError(RuntimeError):
    """VALT answered something the connector cannot use for that call. The message is
    redacted when the error is made (it may quote the vendor's body)."""

    def __init__(self, message: str) -> None:
        super().__init__(default_redactor().redact(message))


class ValtShapeError(ValtApiError):
    """An answer with the wrong shape (no ``data.records`` list, an error envelope sent
    with 200, a 404 that is not VALT's RFC 7807 body ...). Not retried."""


@dataclass(frozen=True, slots=True)
class MintedUrl:
    """A download URL as minted. ``url`` carries the token: use it, never store or log it.
    ``stored_url`` is the URL without its ``access_token``; ``expires_at_ms`` the JWT's
    ``exp`` (None when the token is not a readable JWT)."""

    url: str
    stored_url: str
    expires_at_ms: int | None
    minted_at_ms: int

    def __repr__(self) -> str:
        return f"MintedUrl({self.stored_url!r}, expires_at_ms={self.expires_at_ms})"


def is_not_found(body: Any) -> bool:
    """VALT's 404 body: RFC 7807 ``{"type", "title", "status": 404, "detail"}``."""
    return isinstance(body, dict) and body.get("status") == 404 and "title" in body


def unwrap_data(body: Any, call: str) -> Any:
    """``body["data"]``; ValtShapeError for an error envelope or any other shape."""
    if isinstance(body, dict) and "data" in body:
        return body["data"]
    if isinstance(body, dict) and "error" in body:
        raise ValtShapeError(f"VALT {call}: error envelope with status 200: {body['error']!r}")
    kind = f"keys {sorted(map(str, body))[:8]}" if isinstance(body, dict) else type(body).__name__
    raise ValtShapeError(f"VALT {call}: response has no 'data' ({kind})")


def _path_id(value: str) -> str:
    return quote(str(value), safe="")


class ValtClient:
    """Authenticated access to VALT recordings and download URLs.

    ``fast_transport``: API calls go over httpx-aiohttp (the default httpx transport tops
    out at a few hundred requests/s); ``transport`` replaces the network (tests).

    >>> async with ValtClient(ValtSettings.from_env()) as client:  # doctest: +SKIP
    ...     records = await client.list_page(0, 100)
    """

    def __init__(
        self,
        settings: ValtSettings,
        *,
        redactor: Redactor | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        concurrency: int = 16,
        fast_transport: bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.redactor = redactor if redactor is not None else Redactor()
        self.redactor.add(settings.password)
        self.concurrency = max(1, int(concurrency))
        self.retry = retry or RetryPolicy()
        self.login_metrics = RequestMetrics()
        self.api_metrics = RequestMetrics()
        common: dict[str, Any] = dict(
            vendor="valt", timeout=timeout, retry=self.retry, redactor=self.redactor,
            transport=transport,
        )  # fmt: skip
        self._login_http = AsyncHttpClient(
            settings.base_url, metrics=self.login_metrics, max_connections=2, **common
        )
        self.session = ValtSession(settings, self._login_http, self.redactor)
        self._api = AsyncHttpClient(
            settings.base_url,
            metrics=self.api_metrics,
            auth=QueryTokenAuth(self.session),
            reauthenticate=self.session.renew,
            max_connections=self.concurrency,
            fast_transport=fast_transport and transport is None,
            **common,
        )

    @property
    def metrics(self) -> RequestMetrics:
        """Every request of this client (login and API), merged."""
        return RequestMetrics().merge(self.login_metrics).merge(self.api_metrics)

    async def __aenter__(self) -> ValtClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await asyncio.gather(self._login_http.aclose(), self._api.aclose())

    # -- listing ---------------------------------------------------------------------------
    async def list_page(self, offset: int, limit: int, start_date: str | None = None) -> list[Any]:
        """One page of the recordings list (ordered by ``created``, then id), as served."""
        body: dict[str, Any] = {"offset": int(offset), "limit": int(limit)}
        if start_date is not None:
            body["start_date"] = start_date
        resp = await self._api.request("POST", RECORDS, json=body)
        data = unwrap_data(resp.data, "records list")
        records = data.get("records") if isinstance(data, dict) else None
        if not isinstance(records, list):
            got = type(records).__name__ if isinstance(data, dict) else type(data).__name__
            raise ValtShapeError(f"VALT records list: 'data.records' is not a list ({got})")
        return records

    # -- details ---------------------------------------------------------------------------
    async def details(self, record_id: str) -> dict[str, Any] | None:
        """The recording's details (the ``data`` object), or None when VALT answers 404."""
        resp = await self._api.request("GET", f"{RECORDS}/{_path_id(record_id)}", accept=(200, 404))
        if resp.status == 404:
            if is_not_found(resp.data):
                return None
            raise ValtShapeError(
                f"VALT details of {record_id}: 404 without VALT's RFC 7807 body: "
                + repr(resp.data)[:200]
            )
        data = unwrap_data(resp.data, f"details of {record_id}")
        if not isinstance(data, dict):
            raise ValtShapeError(f"VALT details of {record_id}: 'data' is a {type(data).__name__}")
        return data

    async def details_many(
        self, record_ids: Iterable[str], concurrency: int | None = None
    ) -> AsyncIterator[tuple[str, dict[str, Any] | None | Exception]]:
        """``(id, details | None | error)`` for each id, ``concurrency`` requests in flight,
        yielded as they complete. An error for one id (retries exhausted, a bad shape) is
        yielded, not raised; a refused login (:class:`ValtAuthError`, or a 401 again after the
        new login) stops everything: credentials are every recording's problem."""
        limit = max(1, int(concurrency or self.concurrency))
        ids = iter(record_ids)
        running: dict[asyncio.Task, str] = {}

        async def one(record_id: str) -> dict[str, Any] | None:
            return await self.details(record_id)

        def start_next() -> None:
            for record_id in ids:
                running[asyncio.create_task(one(record_id))] = record_id
                return

        try:
            for _ in range(limit):
                start_next()
            while running:
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    record_id = running.pop(task)
                    exc = task.exception()
                    if isinstance(exc, ValtAuthError | AuthenticationError):
                        raise exc
                    yield record_id, exc if exc is not None else task.result()
                    start_next()
        finally:
            for task in running:
                task.cancel()
            if running:
                await asyncio.gather(*running, return_exceptions=True)

    # -- download URLs ---------------------------------------------------------------------
    async def mint_url(self, record_id: str, video_id: str) -> MintedUrl | None:
        """A fresh download URL for one video, or None when VALT answers 404."""
        call = f"download URL of {record_id}/{video_id}"
        path = f"{DOWNLOAD}/{_path_id(record_id)}/{_path_id(video_id)}"
        resp = await self._api.request("GET", path, accept=(200, 404))
        body = resp.data
        if resp.status == 404:
            if is_not_found(body):
                return None
            raise ValtShapeError(f"VALT {call}: 404 without VALT's RFC 7807 body")
        url = body.get("url") if isinstance(body, dict) else None
        if url is None and isinstance(body, dict) and isinstance(body.get("data"), dict):
            url = body["data"].get("url")  # the doc's table says data.url, its example url
        if not isinstance(url, str):
            unwrap_data(body, call)  # an error envelope is named as such
            raise ValtShapeError(f"VALT {call}: no 'url' at the top level or under 'data'")
        token = query_token(url)
        self.redactor.add(token)
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            raise ValtShapeError(f"VALT {call}: 'url' is not an absolute http(s) URL")
        return MintedUrl(
            url=url,
            stored_url=strip_token(url),
            expires_at_ms=None if token is None else jwt_expiry_ms(token),
            minted_at_ms=now_ms(),
        )
