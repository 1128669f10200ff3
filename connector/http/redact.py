"""Secret redaction for URLs, messages, log records and payloads.

``Redactor.redact`` replaces, with ``***``:

* every registered literal secret (and its URL-encoded forms); secrets live in a
  process-wide registry, so a token added by any client is redacted everywhere;
* the value of sensitive query/form parameters (``access_token``, ``client_token``,
  ``client_secret``, ``token``, ``refresh_token``, ``sig``, ``api_key``, ``apikey``,
  ``password``, ``code``), also inside JSON-ish ``"key": "value"`` text;
* ``Authorization`` header values and ``Bearer``/``Basic`` credentials;
* JWT-looking strings (``eyJ...``).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit, urlunsplit

MASK = "***"
MIN_SECRET_LEN = 6
SENSITIVE_PARAMS: tuple[str, ...] = (
    "access_token",
    "client_token",
    "client_secret",
    "token",
    "refresh_token",
    "sig",
    "api_key",
    "apikey",
    "password",
    "code",
)
# dict keys masked by scrub(): "code" is left out (it is an error code far more often).
_SECRET_KEY_RE = re.compile(
    r"(token|secret|password|passwd|api_?key|authorization|signature|^sig$|credential)",
    re.IGNORECASE,
)

_NAMES = "|".join(SENSITIVE_PARAMS)
# name=value in a query string / form body, also percent-encoded (name%3Dvalue)
_PARAM_RE = re.compile(
    rf"(?:(?<![A-Za-z0-9_\-])|(?<=%3[Ff])|(?<=%26))({_NAMES})(=|%3[Dd])((?:(?!%26)[^&\s#'\"<>])+)",
    re.IGNORECASE,
)
# "name": "value" / 'name': 'value' (JSON, reprs of dicts); "code" is left out here: in
# JSON bodies it is an error code, not an OAuth code.
_KV_NAMES = "|".join(n for n in SENSITIVE_PARAMS if n != "code")
_KV_RE = re.compile(
    rf"""(["'])({_KV_NAMES}|authorization)\1(\s*[:=]\s*)(["'])((?:(?!\4).)*)\4""",
    re.IGNORECASE,
)
_AUTH_HEADER_RE = re.compile(
    r"(authorization\s*[:=]\s*)(?:(bearer|basic|token)\s+)?([^\s,'\"}]+)", re.IGNORECASE
)
_SCHEME_RE = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=\-]{8,}")
_JWT_RE = re.compile(r"eyJ[A-Za-z0-9_\-]{8,}(?:\.[A-Za-z0-9_\-]*){0,2}")


class _Registry:
    """Process-wide set of literal secrets, with a cached alternation regex."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._regex: re.Pattern[str] | None = None

    def add(self, secret: str) -> None:
        if not secret or len(secret) < MIN_SECRET_LEN:
            return
        forms = {secret, quote(secret, safe=""), quote_plus(secret, safe="")}
        with self._lock:
            if forms <= self._secrets:
                return
            self._secrets |= forms
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._regex = re.compile("|".join(re.escape(s) for s in ordered))

    @property
    def regex(self) -> re.Pattern[str] | None:
        return self._regex

    def __contains__(self, secret: str) -> bool:
        return secret in self._secrets


_REGISTRY = _Registry()


class Redactor:
    """Removes secrets from strings, URLs and nested payloads.

    All instances share one process-wide registry of literal secrets; ``secrets`` and
    ``add()`` feed it. Secrets shorter than ``MIN_SECRET_LEN`` are ignored (they would
    mangle ordinary text); parameter-name rules still catch them in URLs.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        for s in secrets:
            self.add(s)

    def add(self, secret: str | None) -> None:
        """Register a literal secret (ignored when empty or very short)."""
        if secret:
            _REGISTRY.add(str(secret))

    def redact(self, text: object) -> str:
        """Return ``text`` (stringified) with every secret replaced by ``***``."""
        s = text if isinstance(text, str) else str(text)
        if not s:
            return s
        rx = _REGISTRY.regex
        if rx is not None:
            s = rx.sub(MASK, s)
        if "=" in s or "%3D" in s or "%3d" in s:
            s = _PARAM_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", s)
        if "'" in s or '"' in s:
            s = _KV_RE.sub(lambda m: f"{m[1]}{m[2]}{m[1]}{m[3]}{m[4]}{MASK}{m[4]}", s)
        if "uthorization" in s or "UTHORIZATION" in s:
            s = _AUTH_HEADER_RE.sub(lambda m: f"{m[1]}{m[2] + ' ' if m[2] else ''}{MASK}", s)
        if "Bearer" in s or "Basic" in s:
            s = _SCHEME_RE.sub(lambda m: f"{m[1]} {MASK}", s)
        if "eyJ" in s:
            s = _JWT_RE.sub(MASK, s)
        return s

    def url(self, url: object) -> str:
        """Redact a URL: userinfo password, sensitive query parameters, secrets."""
        s = str(url)
        try:
            parts = urlsplit(s)
            if parts.password:
                host = parts.hostname or ""
                if parts.port:
                    host = f"{host}:{parts.port}"
                netloc = f"{parts.username or ''}:{MASK}@{host}"
                s = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
        except ValueError:
            pass
        return self.redact(s)

    def scrub(self, obj: Any) -> Any:
        """Return a copy of ``obj`` (dicts/lists/tuples/strings) safe to store.

        Keys that look secret (token, secret, password, api key, authorization,
        signature) get their value replaced by ``***``; strings are redacted.
        """
        if isinstance(obj, str):
            return self.redact(obj)
        if isinstance(obj, dict):
            out: dict[Any, Any] = {}
            for k, v in obj.items():
                if isinstance(k, str) and _SECRET_KEY_RE.search(k) and v not in (None, ""):
                    out[k] = MASK
                else:
                    out[k] = self.scrub(v)
            return out
        if isinstance(obj, list | tuple):
            return type(obj)(self.scrub(v) for v in obj)
        if isinstance(obj, bytes | bytearray):
            return self.redact(bytes(obj).decode("utf-8", "replace"))
        return obj


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


def install_log_redaction(redactor: Redactor | None = None) -> RedactingFilter:
    """Attach a ``RedactingFilter`` where records can leak secrets. Idempotent.

    Attaches to the ``httpx``, ``httpcore`` and ``connector`` loggers and to every
    handler currently on the root logger (logger-level filters do not see records
    propagated from child loggers; handler filters do). Handlers added later (by
    Dagster, pytest) are not covered: call this again after adding them. Also raises
    the ``httpx`` logger to WARNING so its INFO "HTTP Request: <full URL>" lines are
    never emitted.
    """
    flt = RedactingFilter(redactor)
    with _INSTALL_LOCK:
        for name in ("httpx", "httpcore", "connector"):
            _attach(logging.getLogger(name), flt)
        for h in logging.getLogger().handlers:
            _attach(h, flt)
        hx = logging.getLogger("httpx")
        if hx.getEffectiveLevel() < logging.WARNING:
            hx.setLevel(logging.WARNING)
    return flt
