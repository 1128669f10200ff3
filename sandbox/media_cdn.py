"""The media CDN (``/media-cdn/...``): serves IRIS source URLs and Uplynk's ``mp4_url``s.

URLs:

    {base}/media-cdn/iris/{iris_id}/video.mp4?token=T&expires=E    (iris_catalog.py mints them)
    {base}/media-cdn/uplynk/{asset_id}/video.mp4                   (Uplynk's mp4_url, untokenized)
    {base}/media-cdn/edge/{system}/{id}/video.mp4?...              (where a redirect points)

An IRIS URL is checked first: a missing or wrong ``token`` for (id, expires) -> 403
``Forbidden``; ``expires`` in the past on the real clock -> 403 ``Expired``. Then each URL
answers as its *kind* says, a deterministic share per (system, id): ``live`` 200 (206 for a
Range), ``gone_404`` 404, ``gone_410`` 410, ``forbidden`` 403 ``Forbidden``, ``slow`` (live,
after ``slow_s`` seconds: the IRIS knob), ``redirect`` 302 to the same URL under ``/edge/``,
which answers live. IRIS kinds are iris_catalog.py's; Uplynk's: live 80%, gone_404 4%,
gone_410 4%, forbidden 4%, slow 3%, redirect 5%, and gone_404 once the asset is deleted.
Unknown ids and other paths -> 404.

GET and HEAD. ``Range: bytes=a-b`` / ``bytes=a-`` / ``bytes=-n`` (one range) -> 206 with
``Content-Range``; a range starting past the end -> 416 ``Content-Range: bytes */size``;
several ranges or a malformed header are ignored (200, whole body). Bodies are deterministic
bytes (an ``ftyp`` box, then a seed-derived pool), 200 KB to 1 MB per URL. Knob
``head_405_share`` (``POST /_control/media/config``, default 0): that share of URLs (per URL,
deterministic, ``head_allowed`` in the ground truth) answer HEAD with 405, as some CDNs do,
so a client must fall back to a Range GET.

Control (mounted under /_control/media):

    GET  /expected       NDJSON per CDN URL the sandbox knows: every Uplynk asset's mp4_url
                         (deleted ones too), then every IRIS source URL served now: system,
                         id, url, kind (iris: live | expired | gone_404 | gone_410 |
                         forbidden | slow | redirect), expires (Unix s; null for Uplynk),
                         head_allowed
    GET  /stats          requests by status, method and system (iris | uplynk, as the path
                         names it, refused or not), range requests, bytes sent,
                         max_in_flight (most requests in progress at once) and
                         max_in_flight_by_host (the same per Host header: what a client's
                         per-host limit bounds); POST /stats/reset
    GET|POST /config     {"head_405_share": 0..1}
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import re
import secrets
import time
from collections import Counter
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

import numpy as np
import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from .control_io import ok as _ok
from .iris_catalog import CDN_PREFIX, url_token
from .iris_state import iris_state
from .world import World
from .world.mixing import U, salt_of

if TYPE_CHECKING:
    from .app import SandboxState

VENDOR = "media"
PREFIX = CDN_PREFIX
UPLYNK_SHARES = (
    ("live", 80),
    ("gone_404", 4),
    ("gone_410", 4),
    ("forbidden", 4),
    ("slow", 3),
    ("redirect", 5),
)
_UPLYNK_KIND_BY_PERCENT = [k for k, share in UPLYNK_SHARES for _ in range(share)]
_STATUS_OF = {"gone_404": (404, b"Not Found"), "gone_410": (410, b"Gone")}
_FTYP = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
POOL = 1 << 16
CHUNK = 1 << 16
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
SETTLE_EVERY_MS = 1000

__all__ = ["PREFIX", "VENDOR", "control_routes", "env_lines", "fast_paths", "routes"]


def uplynk_path(asset_id: str) -> str:
    """The path of an Uplynk asset's mp4_url (sandbox/world/uplynk.py serves the same)."""
    return f"{CDN_PREFIX}/uplynk/{asset_id}/video.mp4"


class MediaState:
    """The CDN's counters and knob for one world."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.k_uplynk = salt_of(world.seed, "media-uplynk")
        self.k_url = salt_of(world.seed, "media-url").to_bytes(8, "big")
        self.pool = _FTYP + random.Random(f"{world.seed}:media").randbytes(POOL)
        self.head_405_share = 0.0
        self.reset_stats()

    def reset_stats(self) -> None:
        self.statuses: Counter[int] = Counter()
        self.methods: Counter[str] = Counter()
        self.systems: Counter[str] = Counter()
        self.ranges = 0
        self.bytes_sent = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.host_in_flight: Counter[str] = Counter()
        self.max_in_flight_by_host: dict[str, int] = {}

    def stats(self) -> dict[str, Any]:
        return {
            "requests": sum(self.statuses.values()),
            "statuses": {str(s): c for s, c in sorted(self.statuses.items())},
            "methods": dict(self.methods),
            "systems": dict(self.systems),
            "range_requests": self.ranges,
            "bytes_sent": self.bytes_sent,
            "max_in_flight": self.max_in_flight,
            "in_flight": self.in_flight,
            "max_in_flight_by_host": dict(self.max_in_flight_by_host),
        }

    # -- per URL -----------------------------------------------------------------------
    def url_hash(self, system: str, item_id: str) -> int:
        d = hashlib.blake2b(f"{system}/{item_id}".encode(), key=self.k_url, digest_size=8)
        return int.from_bytes(d.digest(), "big")

    def size(self, h: int) -> int:
        return 200_000 + h % 800_000

    def head_allowed(self, h: int) -> bool:
        return (h >> 24) % 1000 >= int(self.head_405_share * 1000)

    def uplynk_kinds(self, idx: np.ndarray) -> list[str]:
        """The kinds of the Uplynk assets at ``idx`` (deleted ones: gone_404)."""
        w = self.world
        h = w._static_hash(np.asarray(idx, dtype=np.int64), self.k_uplynk)
        pct = (h % U(100)).tolist()
        dead = (w.deleted_ms[idx] != 0).tolist()
        return [
            "gone_404" if d else _UPLYNK_KIND_BY_PERCENT[p] for p, d in zip(pct, dead, strict=True)
        ]

    def uplynk_kind(self, i: int) -> str:
        """``uplynk_kinds([i])[0]`` without numpy (the per-request path)."""
        w = self.world
        if w.deleted_ms[i] != 0:
            return "gone_404"
        return _UPLYNK_KIND_BY_PERCENT[w.static_hash_one(i, self.k_uplynk) % 100]

    def body(self, h: int, start: int, end: int) -> bytes:
        """Bytes [start, end) of the URL's body: the ftyp box, then the pool from a shift."""
        shift = h % POOL
        out = bytearray()
        pos = start
        while pos < end:
            if pos < len(_FTYP):
                piece = _FTYP[pos : min(end, len(_FTYP))]
            else:
                o = len(_FTYP) + (pos - len(_FTYP) + shift) % POOL
                piece = self.pool[o : o + min(end - pos, len(_FTYP) + POOL - o)]
            out += piece
            pos += len(piece)
        return bytes(out)


def media_state(state: SandboxState) -> MediaState:
    """The CDN state of the sandbox's current world (built on first use after a reset)."""
    st = getattr(state, "_media_state", None)
    if st is None or st.world is not state.world:
        st = MediaState(state.world)
        state._media_state = st  # type: ignore[attr-defined]
    return st


# ---------------------------------------------------------------------------- serving
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


def _text(status: int, text: bytes, extra: list | None = None) -> Answer:
    return status, [(b"content-type", b"text/plain"), *(extra or [])], text


def resolve(state: SandboxState, path: str, query: dict[str, str]) -> tuple[str, str, int] | Answer:
    """(system, id, kind) of a CDN path, or the refusal to send."""
    parts = path[len(CDN_PREFIX) + 1 :].split("/")
    edge = parts[0] == "edge"
    if edge:
        parts = parts[1:]
    if len(parts) != 3 or parts[2] != "video.mp4":
        return _text(404, b"Not Found")
    system, item_id = parts[0], parts[1]
    w = state.world
    if system == "iris":
        cat = iris_state(state).catalog
        code = w.iris_decode(item_id)
        if code is None:
            return _text(404, b"Not Found")
        try:
            expires = int(query.get("expires", ""))
        except ValueError:
            return _text(403, b"Forbidden")
        good = url_token(cat.key, "iris", item_id, expires)
        if not secrets.compare_digest(query.get("token", ""), good):
            return _text(403, b"Forbidden")
        kind = w.iris_source_kind(code)
        if kind == "not_available":
            return _text(404, b"Not Found")
        if expires <= time.time():
            return _text(403, b"Expired")
        kind = cat.content_kind(code)
    elif system == "uplynk":
        i = w.uplynk_index(item_id)
        if i is None:
            return _text(404, b"Not Found")
        if w.now_ms() - w.settled_ms > SETTLE_EVERY_MS:  # autoexpiries, at most 1 s late
            w.settle()
        kind = media_state(state).uplynk_kind(i)
    else:
        return _text(404, b"Not Found")
    if edge and kind in ("redirect", "slow"):
        kind = "live"
    return system, item_id, kind


def _range(header: str | None, size: int) -> tuple[int, int] | None | str:
    """(start, end exclusive) of one satisfiable range; None: whole body; "416": past end."""
    if not header:
        return None
    m = _RANGE.match(header.strip())
    if not m or (not m.group(1) and not m.group(2)):
        return None
    a, b = m.group(1), m.group(2)
    if not a:
        n = int(b)
        return None if n == 0 else (max(0, size - n), size)
    start = int(a)
    if start >= size:
        return "416"
    end = size if not b else min(size, int(b) + 1)
    return None if end <= start else (start, end)


def fast_paths(state: SandboxState) -> dict[str, Any]:
    """``/media-cdn/*`` as a raw ASGI app (probes must be cheap)."""

    async def app(scope, receive, send) -> None:
        ms = media_state(state)
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
        ms.in_flight += 1
        ms.max_in_flight = max(ms.max_in_flight, ms.in_flight)
        ms.host_in_flight[host] += 1
        if ms.host_in_flight[host] > ms.max_in_flight_by_host.get(host, 0):
            ms.max_in_flight_by_host[host] = ms.host_in_flight[host]
        try:
            await _serve(state, ms, scope, send)
        finally:
            ms.in_flight -= 1
            ms.host_in_flight[host] -= 1

    return {CDN_PREFIX + "/*": app}


async def _serve(state: SandboxState, ms: MediaState, scope, send) -> None:
    method = scope["method"]
    headers = {k: v.decode("latin-1") for k, v in scope["headers"]}
    query = dict(parse_qsl(scope["query_string"].decode("latin-1")))
    ms.methods[method] += 1
    parts = scope["path"][len(CDN_PREFIX) + 1 :].split("/")
    named = parts[1] if parts[0] == "edge" and len(parts) > 1 else parts[0]
    if named in ("iris", "uplynk"):
        ms.systems[named] += 1
    got = resolve(state, scope["path"], query)
    if len(got) == 3 and isinstance(got[0], str):
        system, item_id, kind = got  # type: ignore[misc]
        answer = await _answer(state, ms, method, system, item_id, kind, headers, query)
    else:
        answer = got  # type: ignore[assignment]
    status, hdrs, body = answer
    ms.statuses[status] += 1
    length = hdrs.pop() if hdrs and hdrs[-1][0] == b"content-length" else None
    hdrs.append(length or (b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": hdrs})
    if method == "HEAD":
        await send({"type": "http.response.body", "body": b""})
        return
    for k in range(0, len(body), CHUNK):
        await send({"type": "http.response.body", "body": body[k : k + CHUNK], "more_body": True})
    ms.bytes_sent += len(body)
    await send({"type": "http.response.body", "body": b""})


async def _answer(
    state: SandboxState,
    ms: MediaState,
    method: str,
    system: str,
    item_id: str,
    kind: str,
    headers: dict[bytes, str],
    query: dict[str, str],
) -> Answer:
    if method not in ("GET", "HEAD"):
        return _text(405, b"Method Not Allowed", [(b"allow", b"GET, HEAD")])
    h = ms.url_hash(system, item_id)
    if method == "HEAD" and not ms.head_allowed(h):
        return _text(405, b"Method Not Allowed", [(b"allow", b"GET")])
    if kind in _STATUS_OF:
        return _text(*_STATUS_OF[kind])
    if kind == "forbidden":
        return _text(403, b"Forbidden")
    if kind == "redirect":
        host = headers.get(b"host", "127.0.0.1")
        loc = f"http://{host}{CDN_PREFIX}/edge/{system}/{item_id}/video.mp4"
        if query:
            loc += "?" + urlencode(query)
        return _text(302, b"Found", [(b"location", loc.encode())])
    if kind == "slow":
        await asyncio.sleep(iris_state(state).knobs["slow_s"])
    size = ms.size(h)
    base = [(b"content-type", b"video/mp4"), (b"accept-ranges", b"bytes")]
    rng = _range(headers.get(b"range"), size)
    if rng == "416":
        ms.ranges += 1
        return _text(
            416, b"Range Not Satisfiable", [(b"content-range", f"bytes */{size}".encode())]
        )
    if rng is None:
        length = (b"content-length", str(size).encode())
        return 200, [*base, length], b"" if method == "HEAD" else ms.body(h, 0, size)
    start, end = rng  # type: ignore[misc]
    ms.ranges += 1
    cr = (b"content-range", f"bytes {start}-{end - 1}/{size}".encode())
    length = (b"content-length", str(end - start).encode())
    return 206, [*base, cr, length], b"" if method == "HEAD" else ms.body(h, start, end)


# ---------------------------------------------------------------------------- control
def expected_rows(state: SandboxState, base: str, chunk: int = 20000):
    """Rows of GET /_control/media/expected (module docstring)."""
    ms = media_state(state)
    w = state.world
    w.settle()
    for s in range(0, w.n, chunk):
        idx = np.arange(s, min(w.n, s + chunk), dtype=np.int64)
        for aid, kind in zip(w.uplynk_ids(idx), ms.uplynk_kinds(idx), strict=True):
            yield {
                "system": "uplynk",
                "id": aid,
                "url": base + uplynk_path(aid),
                "kind": kind,
                "expires": None,
                "head_allowed": ms.head_allowed(ms.url_hash("uplynk", aid)),
            }
    for row in iris_state(state).catalog.media_rows(base):
        row["head_allowed"] = ms.head_allowed(ms.url_hash("iris", row["id"]))
        yield row


def ndjson(rows: Any) -> StreamingResponse:
    """A streamed NDJSON answer of dict rows."""

    def gen():
        buf = []
        for row in rows:
            buf.append(orjson.dumps(row))
            if len(buf) >= 2000:
                yield b"\n".join(buf) + b"\n"
                buf = []
        if buf:
            yield b"\n".join(buf) + b"\n"

    return StreamingResponse(gen(), media_type="application/x-ndjson")


def control_routes(state: SandboxState) -> list[Route]:
    """Mounted under /_control/media (module docstring)."""

    async def expected(request: Request) -> Response:
        base = f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"
        return ndjson(expected_rows(state, base))

    async def stats(request: Request) -> Response:
        return _ok(media_state(state).stats())

    async def stats_reset(request: Request) -> Response:
        ms = media_state(state)
        ms.reset_stats()
        return _ok(ms.stats())

    async def config(request: Request) -> Response:
        ms = media_state(state)
        if request.method == "POST":
            try:
                raw = await request.body()
                b = orjson.loads(raw) if raw.strip() else {}
                if not isinstance(b, dict) or set(b) - {"head_405_share"}:
                    raise ValueError('body: {"head_405_share": 0..1}')
                v = b.get("head_405_share", ms.head_405_share)
                if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 1:
                    raise ValueError("head_405_share must be in [0, 1]")
            except (ValueError, TypeError) as exc:
                return _ok({"detail": str(exc)}, 400)
            ms.head_405_share = float(v)
        return _ok({"head_405_share": ms.head_405_share})

    return [
        Route("/expected", expected, methods=["GET"]),
        Route("/stats", stats, methods=["GET"]),
        Route("/stats/reset", stats_reset, methods=["POST"]),
        Route("/config", config, methods=["GET", "POST"]),
    ]


def routes(state: SandboxState) -> list[Route]:
    """Nothing: every /media-cdn path is served by the fast path."""
    return []


def env_lines(base_url: str, state: SandboxState) -> list[tuple[str, str]]:
    return [("MEDIA_CDN_URL", f"{base_url}{CDN_PREFIX}")]
