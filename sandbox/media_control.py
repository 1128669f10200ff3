"""The media CDN's control routes (mounted under /_control/media; media_cdn.py serves).

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

from typing import TYPE_CHECKING

import numpy as np
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .control_io import json_body, ndjson, stats_routes
from .control_io import ok as _ok
from .iris_state import iris_state
from .media_state import media_state, uplynk_path

if TYPE_CHECKING:
    from .app import SandboxState


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


def control_routes(state: SandboxState) -> list[Route]:
    """Mounted under /_control/media (module docstring)."""

    async def expected(request: Request) -> Response:
        base = f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"
        return ndjson(expected_rows(state, base))

    async def config(request: Request) -> Response:
        ms = media_state(state)
        if request.method == "POST":
            try:
                b = await json_body(request)
                if set(b) - {"head_405_share"}:
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
        *stats_routes(lambda: media_state(state)),
        Route("/config", config, methods=["GET", "POST"]),
    ]
