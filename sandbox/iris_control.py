"""``/_control/iris/*``: IRIS knobs, revocation, counters and ground truth (JSON over HTTP).

    GET  /config         the knobs (iris_state.py) and ``anchor_s`` (the moment source URL
                         expiries are anchored at); POST /config {knob: value, ...} sets some
    POST /revoke         {} revoke every live token now; {"after_requests": N} after N more
                         authenticated API requests
    GET  /stats          iris_state.py's counters plus ``cdn`` (the media CDN's, media_cdn.py);
                         POST /stats/reset zeroes both
    GET  /tokens         every access token issued since the world was built
    GET  /expected       NDJSON, one row per IRIS asset (canonical members, then IRIS-only):
                         the data API record as served now (iris_id, title, description,
                         source_url, thumbnail_url, closed_caption_url, length_secs,
                         source_keywords, billing_id) plus platform_id (null when IRIS holds
                         none: IRIS-only assets and some members), canonical_index,
                         source_url_kind (live | expired | gone_404 | gone_410 | forbidden |
                         slow | redirect | not_available), expires (Unix s or null),
                         refreshable (a refresh answers a live URL), refresh_expired (a refresh
                         answers an already-expired URL), gave_up (already answered so), and
                         recommendations: the iris_ids a Watch on its platform_id returns after
                         the echo, for ?number=N (default number_max; a Watch asking fewer gets
                         a prefix), null without a platform_id
    GET  /default_recs   {"recommendations": [iris_ids]} a Watch for an unknown platform_id
                         returns (?number=N as above)

URLs in answers use the host this request was addressed to. Errors: HTTP 400 {"detail": ...}.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .control_io import json_body as _json_body
from .control_io import ndjson
from .control_io import ok as _ok
from .iris_state import iris_state
from .media_state import media_state

if TYPE_CHECKING:
    from .app import SandboxState


def _base(request: Request) -> str:
    return f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"


def control_routes(state: SandboxState) -> list[Route]:
    """Mounted under /_control/iris (see the module docstring)."""

    def number_of(request: Request) -> int:
        raw = request.query_params.get("number")
        n = int(raw) if raw else iris_state(state).knobs["number_max"]
        if n < 0:
            raise ValueError("number must be >= 0")
        return n

    async def config(request: Request) -> Response:
        st = iris_state(state)
        if request.method == "POST":
            try:
                st.configure(await _json_body(request))
            except (ValueError, TypeError) as exc:
                return _ok({"detail": str(exc)}, 400)
        return _ok(st.config())

    async def revoke(request: Request) -> Response:
        try:
            return _ok(iris_state(state).tokens.revoke(await _json_body(request)))
        except ValueError as exc:
            return _ok({"detail": str(exc)}, 400)

    def all_stats() -> dict[str, Any]:
        return {**iris_state(state).stats(), "cdn": media_state(state).stats()}

    async def stats(request: Request) -> Response:
        return _ok(all_stats())

    async def stats_reset(request: Request) -> Response:
        iris_state(state).reset_stats()
        media_state(state).reset_stats()
        return _ok(all_stats())

    async def tokens(request: Request) -> Response:
        return _ok({"tokens": list(iris_state(state).tokens.log)})

    async def expected(request: Request) -> Response:
        try:
            number = number_of(request)
        except ValueError as exc:
            return _ok({"detail": str(exc)}, 400)
        return ndjson(iris_state(state).catalog.expected(_base(request), number))

    async def default_recs(request: Request) -> Response:
        try:
            number = number_of(request)
        except ValueError as exc:
            return _ok({"detail": str(exc)}, 400)
        w = state.world
        return _ok(
            {"recommendations": [w.iris_id_of(c) for c in w.iris_recommendations(None, 0, number)]}
        )

    return [
        Route("/config", config, methods=["GET", "POST"]),
        Route("/revoke", revoke, methods=["POST"]),
        Route("/stats", stats, methods=["GET"]),
        Route("/stats/reset", stats_reset, methods=["POST"]),
        Route("/tokens", tokens, methods=["GET"]),
        Route("/expected", expected, methods=["GET"]),
        Route("/default_recs", default_recs, methods=["GET"]),
    ]
