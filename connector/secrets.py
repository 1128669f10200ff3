"""The one secret scrubber: log lines, exception messages and stored payloads.

Every layer calls these functions (the HTTP core's ``Redactor`` and log filter, its error
messages, ``meta.rejects`` payloads), so there is one set of rules and one mask, ``***``:

* **registered literals**: ``register_secret`` adds a value (an API key, a token) to a
  process-wide registry; it is masked wherever it appears, also URL-encoded;
* **key names** (``is_secret_key``): in a mapping, the value under a key whose name suggests
  a secret (``access_token``, ``X-Api-Key``, ``clientSecret``, ``sig``, ``auth``,
  ``Authorization``...; not ``signal``, ``design`` or ``code``) is masked whole, also in
  JSON-ish text (``"token": "..."``, ``'password': '...'``);
* **query/form parameters** (``is_secret_param``): ``name=value`` in URLs and form bodies,
  also percent-encoded inside another URL, when the name is one of ``SENSITIVE_PARAMS`` or
  ends in a secret word (``X-Amz-Signature``, ``client_token``; not ``tokens_used``);
* ``Authorization: <scheme> <credential>``, ``Bearer``/``Basic`` credentials, JWT-shaped
  strings (``eyJ...``) and the password of ``scheme://user:password@host``.

Layer-neutral on purpose: ``connector.warehouse`` and ``connector.http`` both import it, and
it imports nothing from the project.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_SECRET_LEN = 6

# Query/form parameter names masked whatever their shape; "code" is an OAuth code here.
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
    "hdnts",
)
_PARAM_NAMES = frozenset(SENSITIVE_PARAMS)

_SECRET_WORDS = frozenset(
    {
        "token",
        "tokens",
        "secret",
        "secrets",
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "apikey",
        "sig",
        "sigs",
        "signature",
        "authorization",
        "auth",
        "credential",
        "credentials",
        "cookie",
        "jwt",
        "bearer",
        "privatekey",
        "sessionid",
    }
)
_SECRET_PAIRS = frozenset(
    {
        ("api", "key"),
        ("private", "key"),
        ("access", "key"),
        ("secret", "key"),
        ("signing", "key"),
        ("stream", "key"),
        ("ingest", "key"),
        ("session", "id"),
    }
)
_SECRET_SUBSTRINGS = ("token", "secret", "password", "apikey")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SPLIT = re.compile(r"[^A-Za-z0-9]+")


def _words(name: str) -> list[str]:
    return [p.lower() for p in _SPLIT.split(_CAMEL.sub("_", name)) if p]


@lru_cache(maxsize=4096)
def is_secret_key(name: str) -> bool:
    """True when a mapping key names a secret: ``access_token``, ``X-Api-Key``,
    ``clientSecret``, ``sig``, ``auth``, ``Authorization``... not ``signal``, ``design``,
    ``code``."""
    parts = _words(name)
    if any(p in _SECRET_WORDS for p in parts):
        return True
    if any(pair in _SECRET_PAIRS for pair in zip(parts, parts[1:], strict=False)):
        return True
    joined = "".join(parts)
    return any(w in joined for w in _SECRET_SUBSTRINGS)


@lru_cache(maxsize=4096)
def is_secret_param(name: str) -> bool:
    """True when a query/form parameter carries a secret: one of ``SENSITIVE_PARAMS`` or a
    name whose last word is a secret (``X-Amz-Signature``, ``client_token``, ``api_key``);
    ``tokens_used``, ``signature_kind`` and ``error_code`` are ordinary."""
    if name.lower() in _PARAM_NAMES:
        return True
    parts = _words(name)
    if not parts:
        return False
    last = parts[-1]
    return (
        last in _SECRET_WORDS
        or tuple(parts[-2:]) in _SECRET_PAIRS
        or any(w in last for w in _SECRET_SUBSTRINGS)
    )


class _Registry:
    """Process-wide set of literal secrets, with a cached alternation regex."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self.regex: re.Pattern[str] | None = None

    def add(self, secret: str) -> None:
        forms = {secret, quote(secret, safe=""), quote_plus(secret, safe="")}
        with self._lock:
            if forms <= self._secrets:
                return
            self._secrets |= forms
            ordered = sorted(self._secrets, key=len, reverse=True)
            self.regex = re.compile("|".join(re.escape(s) for s in ordered))


_REGISTRY = _Registry()


def register_secret(secret: object) -> None:
    """Mask ``secret`` (and its URL-encoded forms) everywhere from now on, in this process.
    Empty values and values shorter than ``MIN_SECRET_LEN`` are ignored (they would mangle
    ordinary text); the name rules still catch them in URLs and mappings."""
    if secret is None:
        return
    s = str(secret)
    if len(s) >= MIN_SECRET_LEN:
        _REGISTRY.add(s)


def register_secrets(secrets: Iterable[object]) -> None:
    """``register_secret`` for each of ``secrets``."""
    for s in secrets:
        register_secret(s)


# Authorization header, in "Authorization: Bearer x" and "authorization=Basic x" forms.
_AUTH_HEADER_RE = re.compile(
    r"(authorization\s*[:=]\s*)(?:(bearer|basic|token)\s+)?([^\s,'\"}]+)", re.IGNORECASE
)
# A scheme followed by a credential; a plain lowercase word after it ("Basic auth failed",
# "Bearer token expired") is prose, not a credential.
_SCHEME_RE = re.compile(
    r"\b([Bb]earer|BEARER|Basic|BASIC)\s+(?![a-z]+(?:[\s.,;:!?)]|$))[A-Za-z0-9._~+/\-]{4,}=*"
)
_SCHEME_WORDS = frozenset({"bearer", "basic", "token"})
# name=value in a query string / form body, also percent-encoded (%3F name %3D value %26).
_PARAM_RE = re.compile(
    r"(?:(?<![A-Za-z0-9_.%\-])|(?<=%3[Ff])|(?<=%26))"
    r"([A-Za-z][A-Za-z0-9_.\-]*)(=|%3[Dd])((?:(?!%26)[^&\s#'\"<>])+)"
)
# "name": "value" / 'name': 'value' / "name": 123 (JSON, dict reprs); an unterminated
# string at the end of the text (a cut excerpt) counts as a value too.
_KV_RE = re.compile(
    r"""(["'])([A-Za-z0-9_.\-]{1,64})\1(\s*[:=]\s*)"""
    r"""("(?:[^"\\]|\\.)*(?:"|$)|'(?:[^'\\]|\\.)*(?:'|$)|[^\s,{}\[\]"']+)"""
)
_JWT_RE = re.compile(r"eyJ[A-Za-z0-9_\-]{8,}(?:\.[A-Za-z0-9_\-]*){0,2}")
_USERINFO_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://[^/\s:@]*:)[^@\s/]+@")


def _mask_param(m: re.Match[str]) -> str:
    name, value = m[1], m[3]
    if value == MASK or value.lower() in _SCHEME_WORDS:
        return m[0]
    if is_secret_param(name):
        return f"{name}{m[2]}{MASK}"
    # an ordinary value may hold a percent-encoded URL with its own parameters
    inner = _PARAM_RE.sub(_mask_param, value) if "%3" in value else value
    return f"{name}{m[2]}{inner}"


def _mask_kv(m: re.Match[str]) -> str:
    value = m[4]
    if value in ("null", "true", "false") or not is_secret_key(m[2]):
        return m[0]
    opening = value[0] if value[0] in "\"'" else ""
    closing = opening if opening and len(value) > 1 and value[-1] == opening else ""
    return f"{m[1]}{m[2]}{m[1]}{m[3]}{opening}{MASK}{closing}"


def redact_text(text: object) -> str:
    """``text`` (stringified) with every secret replaced by ``MASK`` (rules: module doc)."""
    s = text if isinstance(text, str) else str(text)
    if not s:
        return s
    rx = _REGISTRY.regex
    if rx is not None:
        s = rx.sub(MASK, s)
    if "uthorization" in s or "UTHORIZATION" in s:
        s = _AUTH_HEADER_RE.sub(lambda m: f"{m[1]}{m[2] + ' ' if m[2] else ''}{MASK}", s)
    if "earer" in s or "asic" in s or "EARER" in s or "ASIC" in s:
        s = _SCHEME_RE.sub(lambda m: f"{m[1]} {MASK}", s)
    if "=" in s or "%3D" in s or "%3d" in s:
        s = _PARAM_RE.sub(_mask_param, s)
    if "'" in s or '"' in s:
        s = _KV_RE.sub(_mask_kv, s)
    if "eyJ" in s:
        s = _JWT_RE.sub(MASK, s)
    if "://" in s:
        s = _USERINFO_RE.sub(lambda m: f"{m[1]}{MASK}@", s)
    return s


def redact_url(url: object) -> str:
    """A URL safe to show: userinfo password, secret parameters and literals masked."""
    return redact_text(url)


def _hides_something(v: Any) -> bool:
    return v is not None and not (isinstance(v, str) and not v)


def _key(k: Any) -> Any:
    if k is None or isinstance(k, str | int | float | bool):
        return k
    return redact_text(str(k))


def scrub(value: Any, extra: Callable[[str], str] | None = None) -> Any:
    """A copy of ``value`` safe to store or show.

    Mappings become dicts whose secret-named keys (``is_secret_key``) have their value,
    whatever it is, replaced by ``MASK`` (``None`` and ``""`` are kept: they hide nothing);
    strings and bytes (decoded as UTF-8) go through ``redact_text`` and then ``extra``, if
    given (a caller's own rule); lists stay lists, tuples tuples, sets become lists; any
    other value is returned as it is. The input is not modified.
    """
    if isinstance(value, str):
        s = redact_text(value)
        return extra(s) if extra is not None else s
    if isinstance(value, Mapping):
        return {
            _key(k): MASK if _hides_something(v) and is_secret_key(str(k)) else scrub(v, extra)
            for k, v in value.items()
        }
    if isinstance(value, list | set | frozenset):
        return [scrub(v, extra) for v in value]
    if isinstance(value, tuple):
        return tuple(scrub(v, extra) for v in value)
    if isinstance(value, bytes | bytearray):
        return scrub(bytes(value).decode("utf-8", "replace"), extra)
    return value
