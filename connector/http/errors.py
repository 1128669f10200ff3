"""Typed HTTP errors. Every message is redacted before it is stored.

Raw httpx/aiohttp exceptions are never chained (their text may hold a URL with a
token): the client raises these ``from None`` and keeps only the exception type name
and a redacted message.
"""

from __future__ import annotations

from .redact import Redactor, default_redactor


class HttpError(Exception):
    """Base of every error raised by the HTTP core.

    Attributes: ``vendor``, ``method``, ``url`` (redacted), ``status`` (``None`` when no
    response was received).
    """

    def __init__(
        self,
        message: str,
        *,
        vendor: str = "",
        method: str = "",
        url: str = "",
        status: int | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        r = redactor or default_redactor()
        self.vendor = vendor
        self.method = method
        self.url = r.url(url) if url else ""
        self.status = status
        self.message = r.redact(message)
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, status={self.status!r})"


class ClientError(HttpError):
    """A status outside ``accept`` that is not retried (typically 4xx).

    ``body_excerpt`` holds the first few hundred characters of the body, redacted.
    """

    def __init__(self, message: str, *, body_excerpt: str = "", **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        r: Redactor = kw.get("redactor") or default_redactor()  # type: ignore[assignment]
        self.body_excerpt = r.redact(body_excerpt)


class AuthenticationError(HttpError):
    """401 again after the one re-authentication (or 401 with no way to re-authenticate)."""


class TransportFailure(HttpError):
    """No usable response: connect/read error, timeout, protocol error."""


class ResponseParseError(HttpError):
    """The body of an accepted status could not be parsed (e.g. truncated JSON)."""


class RetryExhaustedError(HttpError):
    """Attempts or total time used up on retryable failures.

    ``attempts`` is the number of attempts made, ``last_error`` the last failure (an
    ``HttpError``: a ``TransportFailure``, ``ResponseParseError`` or an ``HttpError``
    carrying the 429/5xx status).
    """

    def __init__(
        self, message: str, *, attempts: int, last_error: HttpError | None = None, **kw: object
    ) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.attempts = attempts
        self.last_error = last_error
