"""``/_control/valt/*``: VALT knobs, revocation, churn, counters and ground truth.

    GET  /config        the knobs (valt_state.py);  POST /config {knob: value, ...} sets some
    POST /revoke        {} revoke every access token issued so far; {"after_requests": N}:
                        after N more API requests (login excluded)
    POST /churn         {"creates", "renames", "retention_changes", "deletes": counts (random
                        live recordings, distinct across kinds), "rename_ids",
                        "retention_ids", "delete_ids": [ids] (those exact live recordings),
                        "retention": {...} (the new retention of every retention change;
                        default: a new one derived at random, every type)} applied now on
                        the simulated clock -> {"created", "renamed", "retention_changed",
                        "deleted": [ids as served]}
    GET  /expected      NDJSON, one line per recording ever known (listing order): the
                        details ``data`` exactly as served (as it was when deleted), plus
                        ``"deleted": bool`` and per video ``"bytes"`` and ``"sha256"`` of
                        what the CDN serves now; ``?sha256=0`` leaves the hashes out (a
                        large world hashes slowly: ~1 s per GB); ``?id=X&id=Y`` only those
                        recordings
    GET  /stats         requests per endpoint (login, records, details, download, cdn),
                        responses by status, 401/403/404 counts, logins, tokens, URLs
                        minted, CDN bytes served, range and HEAD requests, dropped
                        connections, churn totals; POST /stats/reset zeroes the counters
    GET  /tokens        {"tokens": access tokens issued, "url_tokens": JWTs minted}

Errors: HTTP 400 {"detail": "..."}.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .control_io import json_body as _json_body
from .control_io import ndjson, stats_routes
from .control_io import ok as _ok
from .valt_state import ValtState, valt_state

if TYPE_CHECKING:
    from .app import SandboxState

CHURN_COUNTS = ("creates", "renames", "retention_changes", "deletes")
CHURN_IDS = {"rename_ids": "renames", "retention_ids": "retention_changes", "delete_ids": "deletes"}


def expected_rows(
    st: ValtState, with_sha: bool = True, ids: set[str] | None = None
) -> Iterator[dict[str, Any]]:
    """Every recording ever known (or those of ``ids``), as the contract's ground truth
    (module docstring)."""
    for code, row, deleted in st.catalog.expected():
        if ids is not None and str(row["id"]) not in ids:
            continue
        row["deleted"] = deleted
        for n, video in enumerate(row["videos"], 1):
            size = st.cdn.size(code, n, st.video_bytes)
            video["bytes"] = size
            if with_sha:
                video["sha256"] = st.cdn.sha256(code, n, size)
        yield row


def _churn_args(b: dict[str, Any]) -> tuple[dict[str, int], dict[str, list[str]], Any]:
    unknown = set(b) - set(CHURN_COUNTS) - set(CHURN_IDS) - {"retention"}
    if unknown:
        raise ValueError(f"unknown fields: {sorted(unknown)}")
    counts = {}
    for k in CHURN_COUNTS:
        v = b.get(k, 0)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ValueError(f"{k} must be an integer >= 0")
        counts[k] = v
    ids = {}
    for k, kind in CHURN_IDS.items():
        v = b.get(k) or []
        if not isinstance(v, list):
            raise ValueError(f"{k} must be a list of ids")
        ids[kind] = [str(x) for x in v]
    return counts, ids, b.get("retention")


def control_routes(state: SandboxState) -> list[Route]:
    """Mounted under /_control/valt (see the module docstring)."""

    async def config(request: Request) -> Response:
        st = valt_state(state)
        if request.method == "POST":
            try:
                st.configure(await _json_body(request))
            except (ValueError, TypeError) as exc:
                return _ok({"detail": str(exc)}, 400)
        return _ok(st.config())

    async def revoke(request: Request) -> Response:
        try:
            return _ok(valt_state(state).tokens.revoke(await _json_body(request)))
        except ValueError as exc:
            return _ok({"detail": str(exc)}, 400)

    async def churn(request: Request) -> Response:
        st = valt_state(state)
        try:
            counts, ids, retention = _churn_args(await _json_body(request))
            out = st.catalog.churn(counts, ids, retention, state.world.now_ms())
        except (ValueError, TypeError) as exc:
            return _ok({"detail": str(exc)}, 400)
        return _ok(out)

    async def expected(request: Request) -> Response:
        st = valt_state(state)
        with_sha = request.query_params.get("sha256", "1") not in ("0", "false", "no")
        ids = set(request.query_params.getlist("id")) or None

        return ndjson(expected_rows(st, with_sha, ids))

    async def tokens(request: Request) -> Response:
        st = valt_state(state)
        return _ok({"tokens": list(st.tokens.log), "url_tokens": list(st.url_log)})

    return [
        Route("/config", config, methods=["GET", "POST"]),
        Route("/revoke", revoke, methods=["POST"]),
        Route("/churn", churn, methods=["POST"]),
        Route("/expected", expected, methods=["GET"]),
        *stats_routes(lambda: valt_state(state)),
        Route("/tokens", tokens, methods=["GET"]),
    ]
