"""VALT's download CDN (``/valt-cdn/distribution/...``): signed URLs, deterministic bytes, Range.

A download URL minted by ``GET /valt/api/v3/records/download/{recordID}/{videoID}`` is

    {base}/valt-cdn/distribution/{recordID}/{n}_{recordID}_{n}.mp4?filename=...&access_token=JWT

(``n`` = the video's 1-based position in the recording's ``videos``). The JWT is
``base64url(header).base64url(payload).base64url(HS256 signature)`` with header
``{"typ":"JWT","alg":"HS256"}`` and payload ``iat``, ``nbf``, ``exp`` (= iat +
``download_ttl_s``, Unix seconds on the real clock), ``iss``/``sub``/``aud`` (the host). The key
is a random secret of the VALT state (a reset makes every URL minted before it invalid).

The CDN answers GET and HEAD:

* a missing, malformed or badly signed token, or one past its ``exp`` (real clock) -> 403
  ``{"error": {"code": 403, "message": "URL expired"}}``;
* a path that is not a live recording's video -> 404, VALT's RFC 7807 body;
* ``Range: bytes=a-b`` / ``bytes=a-`` / ``bytes=-n`` (one range) -> 206 with
  ``Content-Range``; a range starting past the end -> 416 with ``Content-Range: bytes */size``;
  several ranges or a malformed header are ignored (200, the whole file), as HTTP allows;
* otherwise 200 with ``Content-Length``; HEAD sends the headers only.

Bytes are a pure function of (seed, recording, video number, offset): 64 KiB blocks, each a
window of a 1 MiB seed-derived pool XORed with a 64-bit key of (recording, video, block), so a
100 MB file streams with flat memory and its sha256 (the ground truth) is computed the same
way. Size: ``video_bytes`` x a per-video factor in [0.5, 1.5].

Knobs for interrupted downloads (sandbox/valt_state.py): ``cdn_drop_after_bytes`` closes the
connection after that many body bytes (for the next ``cdn_drop_times`` GETs, or all),
``cdn_rate_bytes_s`` paces the body.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, quote_plus

import numpy as np
import orjson

from .world.mixing import GOLD, mix_int, salt_of

if TYPE_CHECKING:
    from .valt_state import ValtState

CDN_PREFIX = "/valt-cdn"
DIST = CDN_PREFIX + "/distribution/"
BLOCK = 65536
_POOL_BYTES = 1 << 20
_WORDS = BLOCK // 8
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_FILE = re.compile(r"^(\d{1,3})_(.+)_(\d{1,3})\.mp4$")
JWT_HEADER = b'{"typ":"JWT","alg":"HS256"}'
EXPIRED = orjson.dumps({"error": {"code": 403, "message": "URL expired"}})
NOT_FOUND = orjson.dumps(
    {
        "type": "https://tools.ietf.org/html/rfc2616#section-10",
        "title": "An error occurred",
        "status": 404,
        "detail": "Not Found",
    }
)


# ---------------------------------------------------------------------------- the JWT
def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def mint_jwt(secret: bytes, host: str, ttl_s: int, now_s: int) -> str:
    """An HS256 JWT valid from ``now_s`` to ``now_s + ttl_s`` (Unix seconds)."""
    claims = {"iat": now_s, "nbf": now_s, "exp": now_s + ttl_s, "iss": host, "sub": host}
    claims["aud"] = host
    signing = f"{_b64(JWT_HEADER)}.{_b64(orjson.dumps(claims))}"
    sig = hmac.new(secret, signing.encode(), hashlib.sha256).digest()
    return f"{signing}.{_b64(sig)}"


def jwt_valid(secret: bytes, token: str | None, now: float) -> bool:
    """Signed with ``secret``, well formed, ``nbf <= now < exp``."""
    if not token or token.count(".") != 2:
        return False
    head, payload, sig = token.split(".")
    want = hmac.new(secret, f"{head}.{payload}".encode(), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(_unb64(sig), want):
            return False
        claims = orjson.loads(_unb64(payload))
        return float(claims["nbf"]) <= now < float(claims["exp"])
    except (ValueError, TypeError, KeyError, orjson.JSONDecodeError):
        return False


def download_filename(name: str, created: int) -> str:
    """The ``filename`` query value as the vendor writes it: ``<name> MM-DD-YYYY hh-mm-AM.mp4``
    form-encoded, then percent-encoded again (the doc's sample: ``Just%2Ba%2Broom...``)."""
    stamp = time.strftime("%m-%d-%Y %I-%M-%p", time.gmtime(created))
    return quote(quote_plus(f"{name} {stamp}.mp4"), safe="")


# ---------------------------------------------------------------------------- bytes
class VideoBytes:
    """The bytes of every video of one world (see the module docstring)."""

    def __init__(self, seed: int) -> None:
        pool = hashlib.shake_128(f"valt-cdn:{seed}".encode()).digest(_POOL_BYTES + BLOCK)
        self.pool = np.frombuffer(pool, dtype=np.uint64)
        self.salt = salt_of(seed, "valt-cdn")
        self._sha: dict[tuple[int, int, int], str] = {}

    def _key(self, code: int, n: int) -> int:
        return mix_int(((code * 16 + n) * GOLD) ^ self.salt)

    def size(self, code: int, n: int, video_bytes: int) -> int:
        """``video_bytes`` x a factor in [0.5, 1.5] of this video."""
        f = 0.5 + (self._key(code, n) % 1_000_001) / 1_000_000
        return max(1, int(video_bytes * f))

    def block(self, code: int, n: int, index: int) -> bytes:
        k = mix_int(self._key(code, n) + index * GOLD)
        off = (k >> 24) % (len(self.pool) - _WORDS + 1)
        return (self.pool[off : off + _WORDS] ^ np.uint64(k)).tobytes()

    def chunks(self, code: int, n: int, first: int, last: int) -> Iterator[bytes]:
        """Bytes ``first..last`` (inclusive) of a video, in pieces of at most 64 KiB."""
        for bi in range(first // BLOCK, last // BLOCK + 1):
            b = self.block(code, n, bi)
            lo = first - bi * BLOCK if bi == first // BLOCK else 0
            hi = last - bi * BLOCK + 1 if bi == last // BLOCK else BLOCK
            yield b if (lo, hi) == (0, BLOCK) else b[lo:hi]

    def sha256(self, code: int, n: int, size: int) -> str:
        """sha256 hex of the whole video of ``size`` bytes (cached)."""
        key = (code, n, size)
        hit = self._sha.get(key)
        if hit is None:
            h = hashlib.sha256()
            for c in self.chunks(code, n, 0, size - 1):
                h.update(c)
            hit = self._sha[key] = h.hexdigest()
            if len(self._sha) > 200_000:
                self._sha.clear()
        return hit


def parse_range(header: str | None, size: int) -> tuple[int, int] | None | str:
    """One ``Range`` header against a file of ``size`` bytes: ``(first, last)`` inclusive,
    None to serve the whole file (no header, several ranges or a malformed one), or
    ``"unsatisfiable"`` (416)."""
    if not header:
        return None
    m = _RANGE.match(header.strip().replace(" ", ""))
    if m is None or m.group(1) == m.group(2) == "":
        return None
    a, b = m.group(1), m.group(2)
    if a == "":  # suffix: the last b bytes
        n = int(b)
        return "unsatisfiable" if n == 0 else (max(0, size - n), size - 1)
    first = int(a)
    last = max(first, size - 1) if b == "" else int(b)
    if last < first:
        return None
    return "unsatisfiable" if first >= size else (first, min(last, size - 1))


# ---------------------------------------------------------------------------- ASGI
async def _error(send, status: int, body: bytes, extra: list | None = None) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send(
        {"type": "http.response.start", "status": status, "headers": headers + (extra or [])}
    )
    await send({"type": "http.response.body", "body": body})


def _target(st: ValtState, path: str) -> tuple[int, int, dict[str, Any]] | None:
    """(code, video number, the recording's details) of a CDN path, None when not live."""
    rest = path[len(DIST) :] if path.startswith(DIST) else ""
    rid, _, fname = rest.partition("/")
    m = _FILE.match(fname)
    if not rid or m is None or m.group(2) != rid or m.group(1) != m.group(3):
        return None
    code = st.catalog.live_code(rid)
    if code is None:
        return None
    rec = st.catalog.details(code)
    n = int(m.group(1))
    return (code, n, rec) if 1 <= n <= len(rec["videos"]) else None


async def serve_cdn(st: ValtState, scope: dict[str, Any], send) -> int:
    """Answer one CDN request; returns the status sent."""
    method = scope["method"]
    if method not in ("GET", "HEAD"):
        body = orjson.dumps({"error": {"code": 405, "message": "Method Not Allowed"}})
        await _error(send, 405, body, [(b"allow", b"GET, HEAD")])
        return 405
    query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
    if not jwt_valid(st.secret, query.get("access_token"), time.time()):
        await _error(send, 403, EXPIRED)
        return 403
    target = _target(st, scope["path"])
    if target is None:
        await _error(send, 404, NOT_FOUND)
        return 404
    code, n, _ = target
    size = st.cdn.size(code, n, st.video_bytes)
    raw = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"range"), None)
    rng = parse_range(raw, size)
    if raw is not None:
        st.counters["cdn_range_requests"] += 1
    if rng == "unsatisfiable":
        body = orjson.dumps({"error": {"code": 416, "message": "Range Not Satisfiable"}})
        await _error(send, 416, body, [(b"content-range", b"bytes */%d" % size)])
        return 416
    first, last = rng if isinstance(rng, tuple) else (0, size - 1)
    status = 206 if isinstance(rng, tuple) else 200
    headers = [
        (b"content-type", b"video/mp4"),
        (b"accept-ranges", b"bytes"),
        (b"content-length", b"%d" % (last - first + 1)),
    ]
    if status == 206:
        headers.append((b"content-range", b"bytes %d-%d/%d" % (first, last, size)))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    if method == "HEAD":
        st.counters["cdn_head_requests"] += 1
        await send({"type": "http.response.body", "body": b""})
        return status
    budget = st.take_drop_budget(last - first + 1)
    await _stream(st, send, st.cdn.chunks(code, n, first, last), budget)
    return status


async def _stream(st: ValtState, send, chunks: Iterator[bytes], budget: int | None) -> None:
    """Send the body, counting bytes; after ``budget`` bytes (None: never) cut the
    connection; pace it when ``cdn_rate_bytes_s`` says so."""
    rate = st.cdn_rate_bytes_s
    for chunk in chunks:
        if budget is not None and len(chunk) >= budget:
            if budget:
                await send(
                    {"type": "http.response.body", "body": chunk[:budget], "more_body": True}
                )
                st.counters["cdn_bytes_served"] += budget
            st.counters["cdn_dropped"] += 1
            return  # never completing the response makes the server close the connection
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
        st.counters["cdn_bytes_served"] += len(chunk)
        if budget is not None:
            budget -= len(chunk)
        if rate:
            await asyncio.sleep(len(chunk) / rate)
    await send({"type": "http.response.body", "body": b""})
