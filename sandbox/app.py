"""One starlette app for every vendor: a path prefix per vendor, /_control for tests.

Adding a vendor: write ``sandbox/<vendor>.py`` exposing

    VENDOR = "<name>"; PREFIX = "/<name>"
    def routes(state: SandboxState) -> list[BaseRoute]        # mounted under PREFIX
    def env_lines(base_url: str, state) -> list[tuple[str, str]]   # printed at startup
    def control_routes(state) -> list[BaseRoute]   (optional; mounted under /_control/<name>)
    def fast_paths(state) -> {full_path: asgi_app}  (optional; exact paths served before
                                                      starlette; a key ending in "*" is a prefix)

read the catalog from ``state.world`` on every request (a reset replaces it), and append the
module to ``VENDOR_MODULES`` below.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Mount

from . import control, defects, uplynk
from .clock import SimClock
from .credentials import UplynkCredentials, uplynk_credentials
from .defects import Defects, DefectsMiddleware
from .faults import FaultAndStatsMiddleware, Faults
from .stats import Stats
from .world import World

VENDOR_MODULES: list[ModuleType] = [uplynk]
# Vendor modules that may not exist yet (added by later work); mounted when importable.
OPTIONAL_VENDOR_MODULES = ("sandbox.ibm", "sandbox.valt", "sandbox.iris", "sandbox.media_cdn")

DEFAULT_WORLD = {"seed": 0, "assets": 1000}


class SandboxState:
    """Everything the endpoints share: the world (replaced on reset), clock, faults, stats."""

    def __init__(self, seed: int = 0, assets: int = 1000, **world_kwargs: Any) -> None:
        self.clock = SimClock()
        self.faults = Faults()
        self.defects = Defects()
        self.stats = Stats()
        self.uplynk_credentials: UplynkCredentials = uplynk_credentials()
        self.world_kwargs: dict[str, Any] = {}
        self.world: World = self.build_world(seed, assets, **world_kwargs)

    def build_world(self, seed: int, assets: int, **kwargs: Any) -> World:
        self.clock.reset()
        self.defects.clear()  # response defects name paths of the old world
        self.world = World(int(seed), int(assets), clock=self.clock, **kwargs)
        self.world_kwargs = {"seed": int(seed), "assets": int(assets), **kwargs}
        return self.world


def vendor_modules() -> list[ModuleType]:
    mods = list(VENDOR_MODULES)
    for name in OPTIONAL_VENDOR_MODULES:
        try:
            m = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        if m not in mods:
            mods.append(m)
    return mods


def create_app(state: SandboxState) -> FaultAndStatsMiddleware:
    mods = vendor_modules()
    ctrl = control.routes(state) + defects.control_routes(state)
    for m in mods:
        extra = getattr(m, "control_routes", None)
        if extra is not None:
            ctrl.append(Mount(f"/{m.VENDOR}", routes=extra(state)))
    routes = [Mount("/_control", routes=ctrl)]
    routes += [Mount(m.PREFIX, routes=m.routes(state)) for m in mods]
    app = Starlette(routes=routes)
    app.state.sandbox = state
    fast: dict[str, Any] = {}
    for m in mods:
        fp = getattr(m, "fast_paths", None)
        if fp is not None:
            fast.update(fp(state))
    inner = FastPaths(app, fast) if fast else app
    # faults first (a fault replaces the answer), then defects, then the vendor; the counters
    # see the status that was served
    return FaultAndStatsMiddleware(
        DefectsMiddleware(inner, state.defects), state.faults, state.stats
    )


class FastPaths:
    """Exact-path raw ASGI handlers in front of starlette (a vendor module's optional
    ``fast_paths(state) -> {path: asgi_app}``), for endpoints where routing overhead shows."""

    def __init__(self, app, paths: dict[str, Any]) -> None:
        self.app = app
        # a key ending in "*" matches every path that starts with the rest of it
        self.paths = {p: h for p, h in paths.items() if not p.endswith("*")}
        self.prefixes = [(p[:-1], h) for p, h in paths.items() if p.endswith("*")]

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            path = scope["path"]
            h = self.paths.get(path)
            if h is None:
                for prefix, ph in self.prefixes:
                    if path.startswith(prefix):
                        h = ph
                        break
            if h is not None:
                return await h(scope, receive, send)
        return await self.app(scope, receive, send)


def env_lines(base_url: str, state: SandboxState) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for m in vendor_modules():
        out += m.env_lines(base_url, state)
    out.append(("SANDBOX_CONTROL_URL", f"{base_url}/_control"))
    return out
