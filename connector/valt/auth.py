"""VALT login: one access token per client, cached, renewed once on a 401.

``POST /api/v3/login`` with the JSON body ``{"username", "password"}`` answers
``{"data": {"access_token": "..."}}``; wrong credentials answer 401
``{"data": "Invalid username or password"}``, a :class:`ValtAuthError` at once (asking
again cannot change the answer). VALT documents no token lifetime, so the token is kept
until the API answers 401, and then the HTTP core calls :meth:`ValtSession.renew` (its
``reauthenticate`` hook, single-flight) and retries the request once.

Every other call carries the token as ``?access_token=`` in the query string:
:class:`QueryTokenAuth` sets it on every attempt as the request is sent, so a retry after a
renewal carries the new token. The password and every token are registered with the
redactor (process-wide) before any request can log them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Generator
from typing import Any

import httpx
import orjson

from connector.config import ValtSettings
from connector.http import AsyncHttpClient, Redactor

LOGIN = "/api/v3/login"


class ValtAuthError(RuntimeError):
    """The login was refused (401: wrong username or password) or answered without a
    token. Names the user and the server's words, never the password."""


class _Unparsed:
    """A login answer that is not JSON (kept as its first bytes)."""

    __slots__ = ("head",)

    def __init__(self, body: bytes) -> None:
        self.head = body[:120].decode("utf-8", "replace")


def _json_or_unparsed(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return _Unparsed(body)


class ValtSession:
    """The cached access token of one client; ``logins`` counts the logins made."""

    def __init__(self, settings: ValtSettings, http: AsyncHttpClient, redactor: Redactor) -> None:
        self.settings = settings
        self.http = http
        self.redactor = redactor
        redactor.add(settings.password)
        self._token: str | None = None
        self._lock = asyncio.Lock()
        self.logins = 0

    @property
    def current(self) -> str | None:
        return self._token

    async def ensure(self) -> str:
        """The cached token, logging in first when there is none."""
        if self._token is None:
            async with self._lock:
                if self._token is None:
                    await self._login()
        return self._token  # type: ignore[return-value]

    async def renew(self) -> None:
        """Log in again now (the HTTP core's ``reauthenticate`` hook after a 401)."""
        async with self._lock:
            await self._login()

    async def _login(self) -> None:
        s = self.settings
        resp = await self.http.request(
            "POST",
            LOGIN,
            json={"username": s.username, "password": s.password},
            accept=(200, 401),
            parse=_json_or_unparsed,
        )
        body = resp.data
        data = body.get("data") if isinstance(body, dict) else None
        if resp.status == 401:
            said = data if isinstance(data, str) else self._describe(body)
            raise self._error(f"refused user {s.username!r}: 401 {said}")
        token = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise self._error(f"answered 200 without data.access_token: {self._describe(body)}")
        self.redactor.add(token)
        self._token = token
        self.logins += 1

    def _describe(self, body: Any) -> str:
        if isinstance(body, _Unparsed):
            return f"a body that is not JSON: {body.head!r}"
        if isinstance(body, dict):
            return f"keys {sorted(map(str, body))[:10]}"
        return f"a JSON {type(body).__name__}"

    def _error(self, what: str) -> ValtAuthError:
        return ValtAuthError(self.redactor.redact(f"VALT login at {self.settings.base_url} {what}"))


class QueryTokenAuth(httpx.Auth):
    """``?access_token=<token>`` on every attempt, set as the request is sent (after any
    wait), so a request retried after a renewal carries the new token."""

    def __init__(self, session: ValtSession) -> None:
        self.session = session

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.session.ensure()
        request.url = request.url.copy_set_param("access_token", token)
        yield request

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.session.current  # sync clients: the token as last fetched
        if token:
            request.url = request.url.copy_set_param("access_token", token)
        yield request
