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

Control routes: media_control.py; state (kinds, bodies, counters): media_state.py.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from starlette.routing import Route

from .iris_catalog import CDN_PREFIX, url_token
from .iris_state import iris_state
from .media_control import control_routes
from .media_state import MediaState, media_state

if TYPE_CHECKING:
    from .app import SandboxState

VENDOR = "media"
PREFIX = CDN_PREFIX
_STATUS_OF = {"gone_404": (404, b"Not Found"), "gone_410": (410, b"Gone")}
CHUNK = 1 << 16
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
SETTLE_EVERY_MS = 1000

__all__ = ["PREFIX", "VENDOR", "control_routes", "env_lines", "fast_paths", "routes"]


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


def routes(state: SandboxState) -> list[Route]:
    """Nothing: every /media-cdn path is served by the fast path."""
    return []


def env_lines(base_url: str, state: SandboxState) -> list[tuple[str, str]]:
    return [("MEDIA_CDN_URL", f"{base_url}{CDN_PREFIX}")]
