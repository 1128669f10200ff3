"""Download URLs: the JWT in their ``access_token`` parameter, and the URL without it.

VALT's download answer is a CDN URL whose ``access_token`` query parameter is a JWT; its
``exp`` claim (Unix seconds) is when the CDN starts refusing the URL. The connector reads
``exp`` without verifying the signature (it has no key, and only needs the date) and without
calling the CDN, and stores the URL only with that parameter removed.

PyJWT is not installed in this project, so the payload is decoded with the standard
library (base64url, then JSON): the same thing ``jwt.decode(token, options={"verify_signature":
False})`` does for the claims.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit

import orjson

TOKEN_PARAM = "access_token"


def _param_name(piece: str) -> str:
    return unquote_plus(piece.split("=", 1)[0])


def query_token(url: str) -> str | None:
    """The value of the URL's ``access_token`` query parameter (decoded), or None."""
    for piece in urlsplit(url).query.split("&"):
        if _param_name(piece) == TOKEN_PARAM and "=" in piece:
            return unquote_plus(piece.split("=", 1)[1]) or None
    return None


def strip_token(url: str) -> str:
    """``url`` without its ``access_token`` query parameter(s); every other parameter is
    kept byte for byte (VALT's ``filename`` is percent-encoded in its own way)."""
    parts = urlsplit(url)
    kept = [p for p in parts.query.split("&") if p and _param_name(p) != TOKEN_PARAM]
    return urlunsplit(parts._replace(query="&".join(kept)))


def jwt_claims(token: str) -> dict[str, Any] | None:
    """The claims of a JWT (its middle part, base64url JSON), unverified; None when the
    token is not a JWT or its payload is not a JSON object."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1]
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        claims = orjson.loads(raw)
    except (binascii.Error, ValueError):
        return None
    return claims if isinstance(claims, dict) else None


def jwt_expiry_ms(token: str) -> int | None:
    """The JWT's ``exp`` as Unix milliseconds; None when absent or not a plausible number."""
    claims = jwt_claims(token)
    exp = None if claims is None else claims.get("exp")
    if type(exp) not in (int, float) or not 946_684_800 <= exp < 4_102_444_800:
        return None
    return int(exp * 1000)
