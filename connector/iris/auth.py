"""IRIS.TV credentials: the OAuth access token, and both tokens in every query string.

``POST /oauth/access_token`` with the form ``grant_type=none&client_id&client_secret&
scope=iris_tv`` answers ``{"access_token", "scope"}`` and no lifetime. A refusal (401
``{"errors": ["IRIS API: Check your authentication credentials"]}``, any other 4xx, or a
200 without a token) is an :class:`IrisAuthError` at once: asking again cannot change it.

Every other call carries ``access_token`` and ``client_token`` as query parameters.
:class:`IrisQueryAuth` sets them on every request as it is sent, and sets ``recs_only=true``
on every Watch and Next call whatever the caller built: a ``recs_only`` other than ``true``
counts as a real play in the vendor's analytics, so the connector cannot send one.

The 401s mean two things, told apart by their words (the HTTP core's ``reauthenticate``
hook cannot see a body, so the renewal happens here, in the auth flow):

* "The access token is no longer valid": the token expired or was revoked. The request
  is sent again once with a renewed token (single-flight: concurrent requests that sent
  the same stale token share one renewal). A second 401 goes back to the core, which
  raises ``AuthenticationError``.
* any other 401 ("IRIS API: Check your authentication credentials": a wrong client_token)
  goes back to the core at once, not retried; the client turns it into an IrisAuthError.

The client secret, the client token and every access token received are registered with
the process-wide redactor before any request can log them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Generator
from typing import Any

import httpx

from connector.config import IrisSettings
from connector.http import AsyncHttpClient, Redactor
from connector.iris.jsonp import PseudoJsonError, loads

TOKEN_PATH = "/oauth/access_token"
PERSONALIZATION_PATHS = ("/watch", "/next")
EXPIRED_WORDS = "no longer valid"


class IrisAuthError(RuntimeError):
    """IRIS refused the credentials: the token call (client id / secret), or a call's
    client_token. Names what to check, never a secret."""


class _Unparsed:
    __slots__ = ("head",)

    def __init__(self, body: bytes) -> None:
        self.head = body[:120].decode("utf-8", "replace")


def _parsed_or_unparsed(body: bytes) -> Any:
    try:
        return loads(body)
    except (PseudoJsonError, UnicodeDecodeError):
        return _Unparsed(body)


def says_token_expired(body: bytes) -> bool:
    """Whether a 401 body is IRIS's "The access token is no longer valid"."""
    return EXPIRED_WORDS in body.decode("utf-8", "replace").lower()


class IrisSession:
    """The cached access token of one client. ``fetched`` counts tokens obtained,
    ``renewals`` the renewals a 401 "no longer valid" caused; ``personalization_calls``
    the Watch/Next requests sent and ``recs_only_not_true`` those whose URL, as it left,
    carried a ``recs_only`` other than exactly ``true`` (the Dagster check's figure)."""

    def __init__(self, settings: IrisSettings, http: AsyncHttpClient, redactor: Redactor) -> None:
        self.settings = settings
        self.http = http
        self.redactor = redactor
        redactor.add(settings.client_secret)
        redactor.add(settings.client_token)
        self._token: str | None = None
        self._lock = asyncio.Lock()
        self.fetched = 0
        self.renewals = 0
        self.personalization_calls = 0
        self.recs_only_not_true = 0

    @property
    def current(self) -> str | None:
        return self._token

    async def ensure(self) -> str:
        """The cached token, fetched first when there is none."""
        if self._token is None:
            async with self._lock:
                if self._token is None:
                    await self._fetch()
        return self._token  # type: ignore[return-value]

    async def renew(self, stale: str | None) -> str:
        """A token other than ``stale``: fetched now unless another request already
        renewed it since ``stale`` was sent."""
        async with self._lock:
            if self._token is None or self._token == stale:
                await self._fetch()
                self.renewals += 1
        return self._token  # type: ignore[return-value]

    async def _fetch(self) -> None:
        s = self.settings
        resp = await self.http.request(
            "POST",
            TOKEN_PATH,
            data={
                "grant_type": "none",
                "client_id": s.client_id,
                "client_secret": s.client_secret,
                "scope": "iris_tv",
            },
            accept=set(range(400, 500)) - {429} | {200},
            parse=_parsed_or_unparsed,
            allow_empty=True,
        )
        body = resp.data
        if resp.status != 200:
            raise self._error(f"refused client {s.client_id!r}: {resp.status} {self._said(body)}")
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise self._error(f"answered 200 without an access_token: {self._said(body)}")
        self.redactor.add(token)
        self._token = token
        self.fetched += 1

    def note_sent(self, url: httpx.URL) -> None:
        """Count a request as it leaves: a Watch/Next, and whether its recs_only is true."""
        if url.path.endswith(PERSONALIZATION_PATHS):
            self.personalization_calls += 1
            if url.params.get_list("recs_only") != ["true"]:
                self.recs_only_not_true += 1

    def _said(self, body: Any) -> str:
        if isinstance(body, dict):
            errors = body.get("errors")
            if isinstance(errors, list) and errors:
                return "; ".join(map(str, errors))
            return f"keys {sorted(map(str, body))[:10]}"
        if isinstance(body, _Unparsed):
            return f"a body that is not JSON: {body.head!r}"
        return "(empty body)" if body is None else f"a JSON {type(body).__name__}"

    def _error(self, what: str) -> IrisAuthError:
        return IrisAuthError(
            self.redactor.redact(
                f"IRIS token call at {self.settings.base_url}{TOKEN_PATH} {what} "
                "(check IRIS_CLIENT_ID and IRIS_CLIENT_SECRET)"
            )
        )


def with_credentials(url: httpx.URL, token: str, client_token: str) -> httpx.URL:
    """``url`` carrying both tokens, and ``recs_only=true`` when it is a Watch or Next."""
    url = url.copy_set_param("access_token", token).copy_set_param("client_token", client_token)
    if url.path.endswith(PERSONALIZATION_PATHS):
        url = url.copy_set_param("recs_only", "true")
    return url


class IrisQueryAuth(httpx.Auth):
    """Both tokens in the query string of every request (``recs_only=true`` on Watch and
    Next), and one resend with a renewed token on a 401 "no longer valid"."""

    def __init__(self, session: IrisSession) -> None:
        self.session = session

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        client_token = self.session.settings.client_token
        token = await self.session.ensure()
        request.url = with_credentials(request.url, token, client_token)
        self.session.note_sent(request.url)
        response = yield request
        if response.status_code != 401:
            return
        await response.aread()
        if not says_token_expired(response.content):
            return  # a client_token error: the core raises it, nobody retries
        renewed = await self.session.renew(stale=token)
        request.url = with_credentials(request.url, renewed, client_token)
        self.session.note_sent(request.url)
        yield request

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("IrisQueryAuth works with async clients only")


__all__ = [
    "IrisAuthError",
    "IrisQueryAuth",
    "IrisSession",
    "says_token_expired",
    "with_credentials",
]
