"""Async client for the IRIS.TV calls the connector makes.

Two HTTP clients on the shared core: one for the token call, one for the API, whose auth
(:class:`~connector.iris.auth.IrisQueryAuth`) puts both tokens in every query string, sets
``recs_only=true`` on every Watch and Next, and renews the token once on a 401 "no longer
valid". This module adds IRIS's answers and their shape checks: a body without what the
call promises is an :class:`IrisApiError` for that call, never an empty result.

* :meth:`IrisClient.watch` / :meth:`IrisClient.next`: ``GET /watch`` / ``GET /next``,
  JSONP in single-quoted pseudo-JSON (read by :mod:`connector.iris.jsonp`);
* :meth:`IrisClient.asset`: the IRIS_ID data API; 204 (IRIS does not know the id) is None;
* :meth:`IrisClient.refresh_source_url`: the source_url refresh. Its 400/500/503 answers are
  returned (:class:`RefreshAnswer`), not retried here: the caller records them in the ledger
  and a later run asks again (the vendor's rule: not in a tight loop).

A wrong client_token (401 "Check your authentication credentials") is an
:class:`~connector.iris.auth.IrisAuthError` at once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from connector.config import IrisSettings
from connector.http import (
    ApiResponse,
    AsyncHttpClient,
    AuthenticationError,
    ClientError,
    Redactor,
    RequestMetrics,
    RetryPolicy,
    default_redactor,
)
from connector.iris.auth import EXPIRED_WORDS, IrisAuthError, IrisQueryAuth, IrisSession
from connector.iris.jsonp import loads as jsonp_loads

WATCH = "/watch"
NEXT = "/next"
ASSETS = "/v2/context/data_partner/metadata/video_assets"
REFRESH = ASSETS + "/source_url"
DEFAULT_USER_ID = "video-catalog-connector"
REFRESH_ANSWERS = (200, 400, 500, 503)


class IrisApiError(RuntimeError):
    """IRIS answered something the connector cannot use for that call (a shape that is
    not the documented one, ``success: false``, an error envelope with 200)."""


@dataclass(frozen=True, slots=True)
class WatchResult:
    """One Watch (or Next) answer. ``echo`` is the asked-about asset (the first item of
    ``next``) unless ``default_recs``; ``recommendations`` are the items after it, as sent
    (each checked by :mod:`connector.iris.normalize`)."""

    platform_id: str
    experience: str
    default_recs: bool
    echo: Any
    recommendations: list[Any]


@dataclass(frozen=True, slots=True)
class RefreshAnswer:
    """The refresh endpoint's answer: ``source_url`` (with its token: use it, never store
    it) when ``status`` is 200, else the vendor's ``errors``."""

    iris_id: str
    status: int
    source_url: str | None = None
    errors: list[str] = field(default_factory=list)

    def __repr__(self) -> str:  # the URL holds a token
        return f"RefreshAnswer({self.iris_id!r}, status={self.status}, errors={self.errors!r})"


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def read_watch(body: Any, platform_id: str, call: str = "watch") -> WatchResult:
    """A Watch/Next body as a :class:`WatchResult`; IrisApiError when its shape is wrong."""
    if not isinstance(body, dict):
        raise IrisApiError(f"IRIS {call}: the answer is a {type(body).__name__}, not an object")
    if body.get("success") is False or "errors" in body:
        raise IrisApiError(f"IRIS {call}: success false: {body.get('errors')!r}")
    items = body.get("next")
    if not isinstance(items, list):
        raise IrisApiError(f"IRIS {call}: no 'next' list (keys: {sorted(body)[:10]})")
    experience = body.get("experience")
    if not isinstance(experience, str) or not experience:
        raise IrisApiError(f"IRIS {call}: no 'experience' string")
    default = _flag(body.get("default_recs"))
    echo = None
    recs = items
    if call == "watch" and not default and items:
        echo, recs = items[0], items[1:]
    return WatchResult(platform_id, experience, default, echo, list(recs))


def _errors_of(body: Any) -> list[str]:
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list):
        return [str(e) for e in errors]
    return [] if errors is None else [str(errors)]


def _json_or_none(body: bytes) -> Any:
    return orjson.loads(body) if body.strip() else None


class IrisClient:
    """Authenticated access to IRIS Watch/Next, the IRIS_ID data API and its refresh.

    >>> async with IrisClient(IrisSettings.from_env()) as client:  # doctest: +SKIP
    ...     result = await client.watch("EXT-0000042", number=5)
    """

    def __init__(
        self,
        settings: IrisSettings,
        *,
        redactor: Redactor | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        concurrency: int = 16,
        user_id: str = DEFAULT_USER_ID,
        fast_transport: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.user_id = user_id
        self.redactor = redactor or default_redactor()
        self.metrics = RequestMetrics()
        common = {
            "vendor": "iris",
            "timeout": timeout,
            "retry": retry,
            "redactor": self.redactor,
            "metrics": self.metrics,
            "transport": transport,
        }
        self._token_http = AsyncHttpClient(settings.base_url, max_connections=2, **common)
        self.session = IrisSession(settings, self._token_http, self.redactor)
        auth = IrisQueryAuth(self.session)
        # data API, personalization and refresh calls together keep at most `concurrency`
        # in flight (token calls stand apart: a request waiting for a token holds a slot)
        slots = asyncio.Semaphore(max(1, concurrency))
        self.http = AsyncHttpClient(
            settings.base_url,
            auth=auth,
            max_connections=max(1, concurrency),
            slots=slots,
            fast_transport=fast_transport,
            **common,
        )
        # Refreshes are sent once: a retried refresh whose first answer was lost could be
        # a second request for an id IRIS already answered with an expired URL.
        self._refresh_http = AsyncHttpClient(
            settings.base_url,
            auth=auth,
            max_connections=max(1, concurrency),
            slots=slots,
            **{**common, "retry": RetryPolicy(max_attempts=1)},
        )

    async def __aenter__(self) -> IrisClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.http.aclose()
        await self._refresh_http.aclose()
        await self._token_http.aclose()

    async def _get(
        self, path: str, params: dict[str, Any], *, once: bool = False, **kw: Any
    ) -> ApiResponse:
        """One GET (``once``: never retried); a 401 the auth flow could not cure becomes
        an IrisAuthError."""
        http = self._refresh_http if once else self.http
        try:
            return await http.request("GET", path, params=params, **kw)
        except AuthenticationError as exc:
            if EXPIRED_WORDS in exc.message.lower():
                what = "refused the access token again right after renewing it"
            else:
                what = "refused the client token (not retried: check IRIS_CLIENT_TOKEN)"
            raise IrisAuthError(self.redactor.redact(f"IRIS {what}: {exc.message}")) from None

    # -- personalization -------------------------------------------------------------
    async def watch(self, platform_id: str, number: int) -> WatchResult:
        """Watch for ``platform_id`` asking ``number`` recommendations. ``recs_only=true``
        is set by the auth flow on every attempt, whatever is passed here."""
        params = {
            "platform_id": platform_id,
            "platform": self.settings.platform,
            "number": number,
            "user_id": self.user_id,
        }
        resp = await self._get(WATCH, params, parse=jsonp_loads)
        return read_watch(resp.data, platform_id)

    async def next(self, experience: str, platform_id: str, number: int) -> WatchResult:
        """Next in an ``experience`` begun by a Watch (``recs_only=true`` likewise);
        400 "invalid experience" is an IrisApiError."""
        params = {
            "platform_id": platform_id,
            "platform": self.settings.platform,
            "number": number,
            "user_id": self.user_id,
            "experience": experience,
        }
        try:
            resp = await self._get(NEXT, params, parse=jsonp_loads)
        except ClientError as exc:
            raise IrisApiError(f"IRIS next: {exc.message}") from None
        return read_watch(resp.data, platform_id, "next")

    # -- IRIS_ID data API ------------------------------------------------------------
    async def asset(self, iris_id: str) -> dict[str, Any] | None:
        """The data API's record for ``iris_id`` (its ``source_url`` holds a token); None
        when IRIS answers 204 (unknown id)."""
        resp = await self._get(
            ASSETS, {"iris_id": iris_id}, accept=(200, 204), parse=_json_or_none, allow_empty=True
        )
        if resp.status == 204:
            return None
        body = resp.data
        if not isinstance(body, dict) or "errors" in body:
            shown = _errors_of(body) or type(body).__name__
            raise IrisApiError(f"IRIS video_assets {iris_id}: not a record: {shown}")
        return body

    async def refresh_source_url(self, iris_id: str) -> RefreshAnswer:
        """Ask IRIS for a new source URL, once: 400/500/503 come back as answers, and a
        transport failure or an unreadable body raises HttpError; neither is retried."""
        resp = await self._get(
            REFRESH,
            {"iris_id": iris_id},
            once=True,
            accept=REFRESH_ANSWERS,
            parse=_json_or_none,
            allow_empty=True,
        )
        body = resp.data
        if resp.status != 200:
            return RefreshAnswer(iris_id, resp.status, errors=_errors_of(body) or ["(no errors)"])
        url = body.get("source_url") if isinstance(body, dict) else None
        if not isinstance(url, str) or not url:
            return RefreshAnswer(iris_id, 200, errors=["answered 200 without a source_url"])
        return RefreshAnswer(iris_id, 200, url)


__all__ = [
    "IrisApiError",
    "IrisAuthError",
    "IrisClient",
    "RefreshAnswer",
    "WatchResult",
    "read_watch",
]
