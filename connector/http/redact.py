"""The HTTP layer's face of the one secret scrubber, ``connector.secrets``.

``Redactor`` (``redact`` for text, ``url`` for URLs, ``scrub`` for payloads, ``add`` to
register a literal secret) and ``RedactingFilter`` (log records) hold no rules of their own:
every call goes to ``connector.secrets``, whose module docstring lists the rules; the mask
is ``***``. The registry of literal secrets is process-wide, so a token added by any client
is masked everywhere, in stored payloads too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any

from connector import secrets as _secrets
from connector.secrets import MASK, MIN_SECRET_LEN, SENSITIVE_PARAMS

__all__ = [
    "MASK",
    "MIN_SECRET_LEN",
    "SENSITIVE_PARAMS",
    "RedactingFilter",
    "Redactor",
    "default_redactor",
    "install_log_redaction",
]


class Redactor:
    """Removes secrets from strings, URLs and nested payloads (``connector.secrets``).

    All instances share one process-wide registry of literal secrets; ``secrets`` and
    ``add()`` feed it. Secrets shorter than ``MIN_SECRET_LEN`` are ignored (they would
    mangle ordinary text); the parameter-name rules still catch them in URLs.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        _secrets.register_secrets(secrets)

    def add(self, secret: str | None) -> None:
        """Register a literal secret (ignored when empty or very short)."""
        _secrets.register_secret(secret)

    def redact(self, text: object) -> str:
        """Return ``text`` (stringified) with every secret replaced by ``***``."""
        return _secrets.redact_text(text)

    def url(self, url: object) -> str:
        """Redact a URL: userinfo password, sensitive query parameters, secrets."""
        return _secrets.redact_url(url)

    def scrub(self, obj: Any) -> Any:
        """A copy of ``obj`` safe to store: values under secret-named keys masked, strings
        redacted (``connector.secrets.scrub``)."""
        return _secrets.scrub(obj)


_DEFAULT = Redactor()


def default_redactor() -> Redactor:
    """The shared redactor (all redactors share the secret registry anyway)."""
    return _DEFAULT


class RedactingFilter(logging.Filter):
    """Logging filter that rewrites a record's message, args and traceback text."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor or _DEFAULT

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_connector_redacted", False):
            return True
        try:
            msg = record.getMessage()
        except Exception:  # a bad format string: keep the raw template
            msg = str(record.msg)
        record.msg = self.redactor.redact(msg)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor.redact(record.stack_info)
        record._connector_redacted = True  # type: ignore[attr-defined]
        return True


_INSTALL_LOCK = threading.Lock()


def _attach(target: logging.Logger | logging.Handler, flt: RedactingFilter) -> None:
    if not any(isinstance(f, RedactingFilter) for f in target.filters):
        target.addFilter(flt)


# Loggers that format request URLs or response headers themselves: a filter on the logger
# redacts their records before any handler sees them (a logger's filters apply only to
# records created by that very logger, not to its children's).
_LIBRARY_LOGGERS = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
    "connector",
    "connector.http",
)


def install_log_redaction(redactor: Redactor | None = None) -> RedactingFilter:
    """Attach a ``RedactingFilter`` where records can leak secrets. Idempotent.

    Attaches to the ``httpx`` and ``httpcore.*`` loggers (httpcore logs response headers
    at DEBUG), to ``connector`` and ``connector.http``, and to every handler currently on
    the root logger, which is what covers records of other ``connector.*`` loggers and
    libraries. Handlers added later (by Dagster, pytest) are not covered: call this again
    after adding them. Also raises the ``httpx`` logger to WARNING so its INFO
    "HTTP Request: <full URL>" lines are not emitted unless someone lowers it again (they
    are redacted if they are).
    """
    flt = RedactingFilter(redactor)
    with _INSTALL_LOCK:
        for name in _LIBRARY_LOGGERS:
            _attach(logging.getLogger(name), flt)
        for h in logging.getLogger().handlers:
            _attach(h, flt)
        hx = logging.getLogger("httpx")
        if hx.getEffectiveLevel() < logging.WARNING:
            hx.setLevel(logging.WARNING)
    return flt
