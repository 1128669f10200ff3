"""Reading a response body, and telling a body that can change from one that cannot.

The client reads the raw bytes (before any Content-Encoding is undone) so that a failure
can be fingerprinted on what the server actually sent. A body cut short ("unexpected end
of data": a flaky proxy) is fingerprinted on its raw bytes, so a body truncated at another
byte is worth another attempt. Any other problem (NaN, invalid UTF-8, nesting beyond the
parser, HTML or an empty body with 200, a Content-Encoding that lies) is fingerprinted on
its kind alone (the problem with its numbers removed), because a vendor's answer also
carries values that change on every call (its clock): the same kind twice in a row means
the server answers this way every time, and retrying cannot help.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

UTF8_BOM = b"\xef\xbb\xbf"
PREVIEW_BYTES = 80
# Text redacted before it is cut: a secret straddling the cut would otherwise escape the
# rules that need the whole value (a registered literal, a quoted "token": "...").
_REDACT_WINDOW = 4096


class ResponseHead(Protocol):
    """What is read of a response besides its body: an ``httpx.Response``, or a
    ``direct.DirectAnswer`` when the attempt went over aiohttp itself."""

    status_code: int
    reason_phrase: str
    headers: Mapping[str, str]


async def read_raw(resp: httpx.Response) -> tuple[bytes, bool]:
    """The body as sent, and whether it is already decoded.

    A response built in memory (``httpx.MockTransport`` handlers that pass ``content=``)
    arrives read and decoded; a streamed one is read here, undecoded, and closed.
    """
    if resp.is_stream_consumed:
        return resp.content, True
    try:
        return b"".join([chunk async for chunk in resp.aiter_raw()]), False
    finally:
        await resp.aclose()


def decode(resp: ResponseHead, raw: bytes) -> bytes:
    """``raw`` with the response's Content-Encoding undone, as httpx would have done it.
    Raises ``httpx.DecodingError`` when the body is not what the header says."""
    encoding = resp.headers.get("content-encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return raw
    return httpx.Response(resp.status_code, headers=resp.headers, content=raw).content


def decoded_or_raw(resp: ResponseHead, raw: bytes) -> bytes:
    """The decoded body of a status we only quote from: the raw bytes if it does not
    decode (what the server sent is then the best evidence)."""
    try:
        return decode(resp, raw)
    except httpx.DecodingError:
        return raw


def content_type(resp: ResponseHead) -> str:
    """The response's Content-Type, or ``"no content type"``."""
    return resp.headers.get("content-type", "").strip() or "no content type"


def parse_problem(exc: Exception) -> str:
    """What a parser's exception says was wrong with the body, for a person."""
    if isinstance(exc, json.JSONDecodeError):  # orjson's errors are JSONDecodeErrors
        return f"not JSON: {exc}"
    return f"unparseable: {type(exc).__name__}: {exc}"


def parse_body(
    body: bytes, parse: Callable[[bytes], Any] | None, *, empty_ok: bool
) -> tuple[Any, str | None]:
    """``(data, None)``, or ``(None, what was wrong)`` for an unusable body.

    ``parse=None`` returns the bytes as they are. An empty body is ``None`` when
    ``empty_ok``, else a problem. A UTF-8 BOM before the body is dropped (harmless, but
    orjson refuses it).
    """
    if parse is None:
        return body, None
    if not body:
        return None, None if empty_ok else "empty body"
    try:
        return parse(body.removeprefix(UTF8_BOM)), None
    except Exception as exc:  # any parser, any error: the body is unusable
        return None, parse_problem(exc)


def decoding_problem(resp: ResponseHead, exc: Exception) -> str:
    """What was wrong when Content-Encoding could not be undone."""
    encoding = resp.headers.get("content-encoding", "")
    return f"Content-Encoding {encoding!r} does not decode: {exc}"


_DIGITS = re.compile(r"\d+")
_TRUNCATED = "unexpected end of data"


@dataclass(frozen=True, slots=True)
class BodyFailure:
    """One unusable body: what was wrong, and its fingerprint (see the module docstring)."""

    problem: str
    fingerprint: tuple[bytes, str]

    @classmethod
    def of(cls, raw: bytes, problem: str) -> BodyFailure:
        kind = _DIGITS.sub("#", problem)
        if _TRUNCATED in problem.lower():
            return cls(problem, (hashlib.blake2b(raw, digest_size=16).digest(), kind))
        return cls(problem, (b"", kind))


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def preview(raw: bytes, redact: Callable[[str], str], n: int = PREVIEW_BYTES) -> str:
    """The first ``n`` characters of the body: redacted, then made printable (invalid
    UTF-8 as ``\\xNN``, control characters escaped); ``...`` marks a cut."""
    text = redact(raw[:_REDACT_WINDOW].decode("utf-8", "backslashreplace"))
    shown = _printable(text[:n])
    return shown + ("..." if len(text) > n or len(raw) > _REDACT_WINDOW else "")


def excerpt(body: bytes, n: int, redact: Callable[[str], str]) -> str:
    """The first ``n`` characters of a body on one line, redacted before it is cut."""
    text = redact(body[: max(n * 2, _REDACT_WINDOW)].decode("utf-8", "replace").strip())
    text = " ".join(text.split())
    return text[:n] + ("..." if len(text) > n else "")
