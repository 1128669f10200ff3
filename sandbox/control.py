"""/_control/* endpoints (JSON over HTTP), for tests, the demo and benchmarks.

    POST   /_control/reset          {seed, assets, epoch_ms?, <any knob>?}  rebuild the world,
                                     simulated clock offset 0. Knobs (sandbox/world/knobs.py):
                                     delete_window_s, update_window_s, changes_page_size,
                                     changes_assets_omit_prob, malformed_fraction (reset only),
                                     uplynk_clock_offset_s, cap_changes_per_ms, get_unknown,
                                     create_action, numbers_as_strings
    POST   /_control/config         {<live knob>: value, ...} applied to the current world, no
                                     rebuild (every knob but malformed_fraction)
    POST   /_control/advance        {seconds, creates?, updates?, deletes?, burst?} -> summary
    GET    /_control/now            {"now_ms": simulated now, "real_ms": ..., "offset_ms": ...,
                                     "uplynk_now_ms": now on the Uplynk feed's clock}
    GET    /_control/world          world parameters and sizes
    POST   /_control/faults         one rule or {"rules": [...]} (see faults.py); DELETE clears
    GET    /_control/faults         the active rules
    GET    /_control/stats          request counters and max requests in flight per vendor;
                                     POST /_control/stats/reset clears them
    GET    /_control/latency        added latency per vendor; POST {vendor: {ms, jitter_ms}}
                                     sets it, DELETE zeroes it (see sandbox/latency.py)
    /_control/uplynk/...             expected, burst, stats: see sandbox/uplynk_control.py
    /_control/ibm/...                see sandbox/ibm_control.py
    GET    /_control/truth          NDJSON ground-truth rows (see World.truth)

Errors: HTTP 400 {"detail": "..."}.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import latency as latency_mod
from .clock import real_now_ms
from .control_io import ndjson
from .control_io import ok as _ok
from .world.knobs import KNOBS, check_knobs

if TYPE_CHECKING:
    from .app import SandboxState


def _bad(msg: str) -> Response:
    return _ok({"detail": msg}, 400)


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    d = orjson.loads(raw)
    if not isinstance(d, dict) and not isinstance(d, list):
        raise ValueError("body must be a JSON object")
    return d


def world_info(state: SandboxState) -> dict[str, Any]:
    w = state.world
    return {
        "seed": w.seed,
        "assets": w.n,
        "initial_assets": w.n_initial,
        "live": w.live_count(),
        "epoch_ms": w.epoch_ms,
        "now_ms": w.now_ms(),
        **{k: getattr(w, k) for k in KNOBS},
        "malformed": int((w.flags & 1).sum()),
        "change_log": w.log_len(),
        "ibm_only": w.ibm_only_count,
        "valt_only": w.valt_only_count,
        "iris_only": w.iris_only_count,
    }


def routes(state: SandboxState) -> list[Route]:
    async def reset(request: Request) -> Response:
        try:
            b = await _body(request)
            unknown = set(b) - {"seed", "assets", "epoch_ms", *KNOBS}
            if unknown:
                return _bad(f"unknown fields: {sorted(unknown)}")
            kw = check_knobs({k: b[k] for k in KNOBS if b.get(k) is not None})
            if b.get("epoch_ms") is not None:
                kw["epoch_ms"] = int(b["epoch_ms"])
            t = time.perf_counter()
            state.build_world(int(b.get("seed", 0)), int(b.get("assets", 1000)), **kw)
            info = world_info(state)
            info["build_s"] = round(time.perf_counter() - t, 3)
            return _ok(info)
        except (ValueError, TypeError) as exc:
            return _bad(str(exc))

    async def config(request: Request) -> Response:
        try:
            b = await _body(request)
            if not isinstance(b, dict):
                return _bad("body must be a JSON object")
            values = state.world.configure(**b)
            state.world_kwargs.update(values)
            return _ok(world_info(state))
        except (ValueError, TypeError) as exc:
            return _bad(str(exc))

    async def advance(request: Request) -> Response:
        try:
            b = await _body(request)
            unknown = set(b) - {"seconds", "creates", "updates", "deletes", "burst"}
            if unknown:
                return _bad(f"unknown fields: {sorted(unknown)}")
            if "seconds" not in b:
                return _bad("seconds is required")
            res = state.world.advance(
                float(b["seconds"]),
                creates=int(b.get("creates", 0)),
                updates=int(b.get("updates", 0)),
                deletes=int(b.get("deletes", 0)),
                burst=int(b.get("burst", 0)),
            )
            return _ok(res)
        except (ValueError, TypeError) as exc:
            return _bad(str(exc))

    async def now(request: Request) -> Response:
        return _ok(
            {
                "now_ms": state.world.now_ms(),
                "real_ms": real_now_ms(),
                "offset_ms": state.clock.offset_ms,
                "uplynk_now_ms": state.world.uplynk_now_ms(),
            }
        )

    async def world(request: Request) -> Response:
        return _ok(world_info(state))

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            state.faults.clear()
            return _ok({"rules": []})
        if request.method == "POST":
            try:
                state.faults.configure(await _body(request), default_seed=state.world.seed)
            except (ValueError, TypeError) as exc:
                return _bad(str(exc))
        return _ok({"rules": state.faults.public()})

    async def stats(request: Request) -> Response:
        return _ok(state.stats.snapshot())

    async def stats_reset(request: Request) -> Response:
        state.stats.reset()
        return _ok(state.stats.snapshot())

    async def truth(request: Request) -> Response:
        w = state.world

        return ndjson(w.truth())

    return [
        Route("/reset", reset, methods=["POST"]),
        Route("/config", config, methods=["POST"]),
        Route("/advance", advance, methods=["POST"]),
        Route("/now", now, methods=["GET"]),
        Route("/world", world, methods=["GET"]),
        Route("/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/stats", stats, methods=["GET"]),
        Route("/stats/reset", stats_reset, methods=["POST"]),
        Route("/truth", truth, methods=["GET"]),
        *latency_mod.routes(state),
    ]
