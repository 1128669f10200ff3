"""IBM OAuth2 client-credentials tokens: cached, renewed before expiry, renewed on a 401.

``POST <token_url>`` with form ``grant_type=client_credentials&client_id=...`` and the client
secret as HTTP Basic auth -> ``{"access_token", "token_type": "bearer", "expires_in"}``.
Any refusal (400 ``invalid_request`` / ``invalid_client`` / ``invalid_grant``, 401, 501
``unsupported_grant_type``, another 4xx) or a 200 without an ``access_token`` is an
:class:`IbmAuthError` at once, never retried: asking again cannot change the answer.
The token is renewed when less than ``margin`` is left (``min(refresh_margin_s, 10% of
expires_in)``), single-flight across concurrent requests. :class:`BearerAuth` is the
``httpx.Auth`` the API clients use: on every attempt, as it is sent, it takes a token that
is not about to expire (renewing it first if needed), so a retry after a renewal carries
the new one and a request that waited in the rate limiter never leaves with a stale one. The client secret and every token are
registered with the Redactor (process-wide), so they never reach logs or errors.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any

import httpx
import orjson

from connector.config import IbmSettings
from connector.http import (
    AsyncHttpClient,
    RateLimiter,
    Redactor,
    RequestLimiter,
    RequestMetrics,
    RetryPolicy,
)


class IbmAuthError(RuntimeError):
    """The token endpoint refused the request (400 invalid_request / invalid_client,
    401, 501 unsupported_grant_type ...) or answered without a token. Names the endpoint
    and the error, never the secret."""


# every refusal is final: 4xx but 429 (rate limited: retried) and 501 (unsupported grant)
REFUSALS = frozenset(s for s in range(400, 500) if s != 429) | {501}


class _Unparsed:
    """A token response body that is not JSON (kept as its first bytes)."""

    __slots__ = ("head",)

    def __init__(self, body: bytes) -> None:
        self.head = body[:120]


def _json_or_unparsed(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return _Unparsed(body)


class TokenProvider:
    def __init__(
        self,
        settings: IbmSettings,
        *,
        redactor: Redactor,
        metrics: RequestMetrics | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        refresh_margin_s: float = 60.0,
        clock: Callable[[], float] = time.time,
        rate_limiter: RequestLimiter | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.redactor = redactor
        redactor.add(settings.client_secret)
        self.refresh_margin_s = refresh_margin_s
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._margin = 0.0
        self._lock = asyncio.Lock()
        self.fetched = 0  # tokens obtained in this run
        self._http = AsyncHttpClient(
            settings.token_url,
            vendor="ibm",
            timeout=timeout,
            retry=retry,
            rate_limiter=rate_limiter if rate_limiter is not None else RateLimiter(),
            redactor=redactor,
            metrics=metrics,
            auth=httpx.BasicAuth(settings.client_id, settings.client_secret),
            max_connections=2,
            transport=transport,
        )

    @property
    def current(self) -> str | None:
        return self._token

    def _fresh(self) -> bool:
        return self._token is not None and self._clock() < self._expires_at - self._margin

    async def ensure(self) -> str:
        """A token that is not about to expire (fetched when needed)."""
        if self._fresh():
            return self._token  # type: ignore[return-value]
        async with self._lock:
            if not self._fresh():
                await self._fetch()
        return self._token  # type: ignore[return-value]

    async def renew(self) -> None:
        """Fetch a new token now (the HTTP core's ``reauthenticate`` hook after a 401)."""
        async with self._lock:
            await self._fetch()

    async def _fetch(self) -> None:
        s = self.settings
        resp = await self._http.request(
            "POST",
            s.token_url,  # absolute: used as is (a base URL would gain a trailing slash)
            data={"grant_type": "client_credentials", "client_id": s.client_id},
            accept={200} | REFUSALS,
            parse=_json_or_unparsed,
            allow_empty=True,  # an empty 200 is an answer without a token: not retried
        )
        body = resp.data
        if resp.status != 200:
            raise self._refused(resp.status, body)
        if not isinstance(body, dict):
            raise self._error(
                f"answered 200 with a body that is not a JSON object: {self._head(body)}"
            )
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise self._error(
                f"answered 200 without an access_token (keys: {sorted(map(str, body))[:10]})"
            )
        self.redactor.add(token)
        try:
            expires_in = float(body.get("expires_in") or 3600)
        except (TypeError, ValueError):
            expires_in = 3600.0
        self._token = token
        self._expires_at = self._clock() + expires_in
        self._margin = min(self.refresh_margin_s, 0.1 * expires_in)
        self.fetched += 1

    def _error(self, what: str) -> IbmAuthError:
        url = self.redactor.url(self.settings.token_url)
        return IbmAuthError(self.redactor.redact(f"IBM token endpoint {url} {what}"))

    def _head(self, body: Any) -> str:
        if isinstance(body, _Unparsed):
            return repr(body.head.decode("utf-8", "replace"))
        return f"a JSON {type(body).__name__}"

    def _refused(self, status: int, body: Any) -> IbmAuthError:
        """The token endpoint's refusal: status, ``error`` and ``error_description``."""
        if isinstance(body, dict):
            detail = f"{body.get('error', '')} {body.get('error_description', '')}".strip()
        elif body is None:
            detail = "(empty body)"
        else:
            detail = self._head(body)
        return self._error(
            f"refused client {self.settings.client_id!r}: {status} {detail or '(no error field)'}"
        )

    async def aclose(self) -> None:
        await self._http.aclose()


class BearerAuth(httpx.Auth):
    """``Authorization: Bearer <token>`` on every attempt, renewed first when it is about to
    expire. Applied when the request is sent, after any rate-limiter wait, so a request
    that queued longer than a short-lived token's life still carries a valid one."""

    def __init__(self, provider: TokenProvider) -> None:
        self.provider = provider

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        request.headers["Authorization"] = f"Bearer {await self.provider.ensure()}"
        yield request

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.provider.current  # sync clients: the token as last fetched
        if token:
            request.headers["Authorization"] = f"Bearer {token}"
        yield request
