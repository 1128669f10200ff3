"""Uplynk's control endpoints, mounted under /_control/uplynk (ground truth for tests):

    GET  /_control/uplynk/expected     NDJSON, one line per asset the world knows (live and
                                       deleted), every field as the API serves it (dates on
                                       the feed's clock, mp4_url on the host this request
                                       addressed) but numbers as numbers, plus
                                       "malformed", "_index", and "served_as_strings": true
                                       on assets served stringly (see
                                       World.iter_uplynk_expected)
    POST /_control/uplynk/burst        {"deletes": N, "updates": M} -> N deletes of live assets
                                       and M updates of other live assets at ONE millisecond,
                                       never capped (see World.burst); answers ts_ms (simulated
                                       clock), uplynk_ts_ms (feed clock), deleted_ids,
                                       updated_ids, changes, live
    GET  /_control/uplynk/stats        what the emulation did: asset/get list-form batches
                                       answered, answered with an error, unknown or deleted ids
                                       asked for; changes pages served; every burst; the
                                       Uplynk knobs now and both clocks
    POST /_control/uplynk/stats/reset  zero the counters (bursts stay: they are the world's)

The knobs themselves (uplynk_clock_offset_s, cap_changes_per_ms, get_unknown, create_action,
numbers_as_strings) are set like every world knob: POST /_control/reset or /_control/config
(see sandbox/world/knobs.py). Errors: HTTP 400 {"detail": "..."}.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from .control_io import json_body
from .control_io import ok as _ok
from .world.uplynk import with_media_base

if TYPE_CHECKING:
    from .app import SandboxState

UPLYNK_KNOBS = (
    "uplynk_clock_offset_s",
    "cap_changes_per_ms",
    "get_unknown",
    "create_action",
    "numbers_as_strings",
    "changes_page_size",
)


@dataclass
class Served:
    """Counters of what the Uplynk emulation answered since the world was built."""

    get_batches: int = 0  # asset/get with ids / external_ids answered (error or not)
    get_error_batches: int = 0  # ... answered {"error": 1} because of unknown/deleted ids
    get_unknown_ids: int = 0  # distinct unknown or deleted ids per batch, summed
    changes_pages: int = 0  # asset/changes answered with error 0


def served(state: SandboxState) -> Served:
    """The counters of the current world (a reset starts new ones)."""
    cur = getattr(state, "_uplynk_served", None)
    if cur is None or cur[0] is not state.world:
        cur = (state.world, Served())
        state._uplynk_served = cur  # type: ignore[attr-defined]
    return cur[1]


def stats(state: SandboxState) -> dict[str, Any]:
    w = state.world
    off = w.uplynk_offset_ms
    now = w.now_ms()
    return {
        **asdict(served(state)),
        "bursts": [{**b, "uplynk_ts_ms": b["ts_ms"] + off} for b in w.bursts],
        "knobs": {k: getattr(w, k) for k in UPLYNK_KNOBS},
        "now_ms": now,
        "uplynk_now_ms": now + off,
        "uplynk_offset_ms": off,
    }


def control_routes(state: SandboxState) -> list[Route]:
    async def expected(request: Request) -> Response:
        w = state.world
        w.settle()
        base = f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"
        lines = (with_media_base(chunk, base) for chunk in w.iter_uplynk_expected())
        return StreamingResponse(lines, media_type="application/x-ndjson")

    async def burst(request: Request) -> Response:
        try:
            b = await json_body(request)
            unknown = set(b) - {"deletes", "updates"}
            if unknown:
                raise ValueError(f"unknown fields: {sorted(unknown)}")
            n = {k: b.get(k, 0) for k in ("deletes", "updates")}
            if any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in n.values()):
                raise ValueError("deletes and updates must be integers >= 0")
            if not n["deletes"] and not n["updates"]:
                raise ValueError("a burst needs deletes or updates")
        except (ValueError, TypeError) as exc:
            return _ok({"detail": str(exc)}, 400)
        return _ok(state.world.burst(deletes=n["deletes"], updates=n["updates"]))

    async def get_stats(request: Request) -> Response:
        return _ok(stats(state))

    async def reset_stats(request: Request) -> Response:
        cur = served(state)
        for k in asdict(cur):
            setattr(cur, k, 0)
        return _ok(stats(state))

    return [
        Route("/expected", expected, methods=["GET"]),
        Route("/burst", burst, methods=["POST"]),
        Route("/stats", get_stats, methods=["GET"]),
        Route("/stats/reset", reset_stats, methods=["POST"]),
    ]
