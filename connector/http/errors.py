"""Typed HTTP errors. Every message is redacted (``connector.secrets``) before it is stored.

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
    """401 again after ``RetryPolicy.max_reauths`` re-authentications (or 401 with no way to
    re-authenticate)."""


class TransportFailure(HttpError):
    """No usable response: connect/read error, timeout, protocol error."""


class ResponseParseError(HttpError):
    """The body of an accepted status could not be parsed or decoded (e.g. truncated
    JSON). Retried; when retries run out it is ``RetryExhaustedError.last_error``. The
    subclass ``BadResponseError`` is the same failure twice in a row, raised at once."""


class BadResponseError(ResponseParseError):
    """The body of an accepted status is unusable, and the same on two attempts in a row
    (NaN, invalid UTF-8, nesting beyond the parser's limit, HTML or an empty body with
    status 200, a Content-Encoding that does not decode; a body cut short counts only when the
    same bytes come back; see ``connector.http.body``). Raised at once, not retried
    further: retrying cannot change it.

    The message names the vendor, method, redacted URL, status, content type, body length,
    what was wrong and the body's first bytes. Attributes besides ``HttpError``'s:
    ``problem`` (what was wrong, e.g. ``"not JSON: unexpected character..."``),
    ``content_type``, ``nbytes`` (raw body length) and ``preview`` (the first bytes,
    redacted, printable).
    """

    def __init__(
        self,
        message: str,
        *,
        problem: str = "",
        content_type: str = "",
        nbytes: int = 0,
        preview: str = "",
        **kw: object,
    ) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        r: Redactor = kw.get("redactor") or default_redactor()  # type: ignore[assignment]
        self.problem = r.redact(problem)
        self.content_type = content_type
        self.nbytes = nbytes
        self.preview = r.redact(preview)


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
