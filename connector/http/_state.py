"""Internals of ``AsyncHttpClient``: one logical request's state, the retry signal, and
which transport exceptions are worth another attempt."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

import httpx
import orjson

from .errors import HttpError
from .ratelimit import RequestLimiter

# A form/query mapping, or a zero-argument callable returning one, called per attempt.
Fields = Mapping[str, Any] | Callable[[], Mapping[str, Any]]

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


AIO_RETRYABLE, AIO_FATAL = _aiohttp_errors()
RETRYABLE = _RETRYABLE_HTTPX + AIO_RETRYABLE + (TimeoutError, OSError)


def fixed_kwargs(
    headers: Mapping[str, str] | None,
    json: Any,
    content: bytes | None,
    timeout: float | httpx.Timeout | None,
) -> dict[str, Any]:
    """The ``build_request`` arguments that stay the same on every attempt (``json`` is
    serialized once, with its Content-Type)."""
    fixed: dict[str, Any] = {"headers": headers}
    if json is not None:
        fixed["content"] = orjson.dumps(json)
        h = dict(headers or {})
        h.setdefault("Content-Type", "application/json")
        fixed["headers"] = h
    elif content is not None:
        fixed["content"] = content
    if timeout is not None:
        fixed["timeout"] = timeout
    return fixed


class Retry(Exception):
    """One failed attempt that may be retried (tenacity retries on this type only)."""

    def __init__(
        self,
        error: HttpError,
        *,
        headers: Mapping[str, str] | None = None,
        immediate: bool = False,
    ) -> None:
        super().__init__(error.message)
        self.error = error
        self.headers = headers
        self.immediate = immediate


class RequestState:
    """One logical request across its attempts.

    ``bad_body`` is the fingerprint of the last unusable body (``BodyFailure``): the same
    one on the next attempt ends the request with ``BadResponseError``.
    """

    __slots__ = (
        "method",
        "url",
        "params",
        "data",
        "fixed",
        "accept",
        "parse",
        "allow_empty",
        "start",
        "attempts",
        "reauths",
        "last_url",
        "limiter",
        "bad_body",
    )

    def __init__(
        self,
        method: str,
        url: str,
        *,
        params: Fields | None,
        data: Fields | None,
        fixed: dict[str, Any],
        accept: Collection[int],
        parse: Callable[[bytes], Any] | None,
        allow_empty: bool,
        start: float,
        limiter: RequestLimiter | None,
    ) -> None:
        self.method = method
        self.url = url
        self.params = params
        self.data = data
        self.fixed = fixed
        self.accept = accept
        self.parse = parse
        self.allow_empty = allow_empty
        self.start = start
        self.attempts = 0
        self.reauths = 0
        self.last_url = ""
        self.limiter = limiter
        self.bad_body: tuple[bytes, str] | None = None

    def request_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``httpx.AsyncClient.build_request`` for this attempt:
        callables given as ``params``/``data`` are called now, on every attempt."""
        kw = dict(self.fixed)
        kw["params"] = self.params() if callable(self.params) else self.params
        kw["data"] = self.data() if callable(self.data) else self.data
        return kw
