"""``/_control/ibm/*``: IBM knobs, revocation, counters and ground truth (JSON over HTTP).

    GET  /config         the knobs (ibm_state.py);  POST /config {knob: value, ...} sets some
    POST /revoke         {} revoke every live token now; {"after_requests": N} after N more
                         API requests
    GET  /stats          requests / 429s per endpoint (and per client address in "client"
                         scope), responses by status, tokens, PUTs, uploads, removals;
                         POST /stats/reset zeroes the counters
    GET  /tokens         every access token issued since the world was built
    GET  /videos         NDJSON: every IBM video with its state now (listed, rule, expires_at,
                         check_error, malformed, protected, uploaded, removed_at, channel_id)
    GET  /listings       {"listings": [...]} the last 64 channel listings' ground truth
                         (ibm_churn.py); ?channel=ID filters; DELETE forgets them
    POST /churn          {"channel": ID, "uploads": N, "deletes": M, "delete_ids": [...]}:
                         change a channel now -> {"uploaded": [ids], "deleted": [ids]}

Errors: HTTP 400 {"detail": "..."}.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .control_io import json_body as _json_body
from .control_io import ndjson, stats_routes
from .control_io import ok as _ok
from .ibm_state import ibm_state

if TYPE_CHECKING:
    from .app import SandboxState


def control_routes(state: SandboxState) -> list[Route]:
    """Mounted under /_control/ibm (see the module docstring)."""

    async def config(request: Request) -> Response:
        st = ibm_state(state)
        if request.method == "POST":
            try:
                st.configure(await _json_body(request))
            except (ValueError, TypeError, AttributeError) as exc:
                return _ok({"detail": str(exc)}, 400)
        return _ok(st.config())

    async def revoke(request: Request) -> Response:
        try:
            return _ok(ibm_state(state).tokens.revoke(await _json_body(request)))
        except ValueError as exc:
            return _ok({"detail": str(exc)}, 400)

    async def tokens(request: Request) -> Response:
        return _ok({"tokens": list(ibm_state(state).tokens.log)})

    async def videos(request: Request) -> Response:
        st = ibm_state(state)
        now = state.world.now_ms()
        state.world.settle(now)

        return ndjson(st.catalog.expected(now))

    async def listings(request: Request) -> Response:
        st = ibm_state(state)
        if request.method == "DELETE":
            st.listings.clear()
        channel = request.query_params.get("channel")
        return _ok({"listings": st.listings.public(state.world.now_ms(), channel)})

    async def churn(request: Request) -> Response:
        st = ibm_state(state)
        try:
            b = await _json_body(request)
            unknown = set(b) - {"channel", "uploads", "deletes", "delete_ids"}
            if unknown:
                raise ValueError(f"unknown fields: {sorted(unknown)}")
            if "channel" not in b:
                raise ValueError("channel is required")
            now = state.world.now_ms()
            state.world.settle(now)
            out = st.listings.change(
                str(b["channel"]),
                int(b.get("uploads", 0)),
                int(b.get("deletes", 0)),
                [str(v) for v in b.get("delete_ids") or []],
                now,
            )
        except (ValueError, TypeError) as exc:
            return _ok({"detail": str(exc)}, 400)
        return _ok(out)

    return [
        Route("/config", config, methods=["GET", "POST"]),
        Route("/revoke", revoke, methods=["POST"]),
        *stats_routes(lambda: ibm_state(state)),
        Route("/videos", videos, methods=["GET"]),
        Route("/tokens", tokens, methods=["GET"]),
        Route("/listings", listings, methods=["GET", "DELETE"]),
        Route("/churn", churn, methods=["POST"]),
    ]
