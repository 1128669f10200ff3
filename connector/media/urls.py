"""Tokenized media URLs: their expiry read from the URL itself, and the URL without secrets.

A CDN URL such as ``https://cdn.example.com/v/video.mp4?token=9f2c&expires=1767225600``
carries its expiry in plain Unix seconds (``expires``; ``Expires`` and ``exp`` are read the
same way): :func:`url_expiry_ms` reads it without any request. :func:`strip_token` gives the
URL that may be stored or logged: every query parameter whose name is a secret's
(``token``, ``access_token``, ``sig``, ``X-Amz-Signature``...; the rule of
:func:`connector.secrets.is_secret_param`) is removed and every other one is kept byte for
byte, ``expires`` included.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote_plus, urlsplit, urlunsplit

from connector.secrets import is_secret_param

EXPIRY_PARAMS = ("expires", "Expires", "exp")
_MIN_S, _MAX_S = 946_684_800, 4_102_444_800  # 2000-01-01 .. 2100-01-01


def _name(piece: str) -> str:
    return unquote_plus(piece.split("=", 1)[0])


def strip_token(url: str) -> str:
    """``url`` without its secret query parameters (the rest kept as they were)."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    kept = [p for p in parts.query.split("&") if p and not is_secret_param(_name(p))]
    return urlunsplit(parts._replace(query="&".join(kept)))


def url_expiry_ms(url: str) -> int | None:
    """The URL's ``expires`` (Unix seconds) as Unix ms; None when absent or not a
    plausible epoch (2000..2100), so a malformed value never reads as "expired"."""
    params = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    for name in EXPIRY_PARAMS:
        value = params.get(name)
        if value is None:
            continue
        try:
            seconds = float(value)
        except ValueError:
            return None
        return int(seconds * 1000) if _MIN_S <= seconds < _MAX_S else None
    return None


def is_expired(url: str, now_ms: int) -> bool:
    """Whether the URL's own expiry has passed at ``now_ms`` (False when it has none)."""
    expiry = url_expiry_ms(url)
    return expiry is not None and expiry <= now_ms


__all__ = ["EXPIRY_PARAMS", "is_expired", "strip_token", "url_expiry_ms"]
