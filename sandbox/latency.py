"""Added response latency per vendor, and the requests each vendor has in flight.

On loopback a request costs nothing; a real vendor is 50-300 ms away. ``LatencyMiddleware``
delays every vendor request (never ``/_control``) by a fixed time plus jitter, per vendor,
with ``asyncio.sleep`` (the event loop keeps serving other requests meanwhile), and counts
the vendor's requests in flight from arrival to the last byte of the answer into
``Stats`` (``max_in_flight`` per vendor in ``/_control/stats``), so a benchmark can show a
client never had more requests in flight than a vendor allows.

A vendor is the first path segment: ``uplynk``, ``ibm``, ``valt``, ``iris``, and the CDNs
``valt-cdn`` and ``media-cdn`` (``cdn`` sets both). The delay of a request is
``ms + uniform(-jitter_ms, +jitter_ms)`` (at least 0: the mean stays ``ms``), drawn from a
seeded RNG. Configured

* at start: ``python -m sandbox serve --latency 150 --latency uplynk=150:30`` or the
  environment ``SANDBOX_LATENCY="150,uplynk=150:30"`` (``[VENDOR=]MS[:JITTER_MS]``, no
  vendor = every vendor);
* live: ``POST /_control/latency`` ``{"default": {"ms": 150, "jitter_ms": 30},
  "ibm": {"ms": 80}}`` (the vendors named are set, the others kept; ``{"ms": .., "jitter_ms":
  ..}`` alone sets the default), ``GET`` shows it, ``DELETE`` sets every delay to 0.

A world reset (``/_control/reset``) keeps the latency: it is the network, not the world.
"""

from __future__ import annotations

import asyncio
import os
import random
from dataclasses import dataclass
from typing import Any

from .stats import Stats, vendor_of

ENV = "SANDBOX_LATENCY"
DEFAULT = "default"
CDN = "cdn"  # every vendor whose name ends in "-cdn"


@dataclass(frozen=True)
class Delay:
    ms: float = 0.0
    jitter_ms: float = 0.0

    def __post_init__(self) -> None:
        if self.ms < 0 or self.jitter_ms < 0:
            raise ValueError("latency ms and jitter_ms must be >= 0")

    def public(self) -> dict[str, float]:
        return {"ms": self.ms, "jitter_ms": self.jitter_ms}


def parse_spec(text: str) -> dict[str, Delay]:
    """``"150"``, ``"uplynk=150:30"`` or a comma list of them -> {vendor or "default": Delay}."""
    out: dict[str, Delay] = {}
    for item in (t.strip() for t in text.split(",")):
        if not item:
            continue
        vendor, sep, value = item.rpartition("=")
        vendor = vendor.strip().strip("/") if sep else DEFAULT
        ms, _, jitter = value.partition(":")
        try:
            out[vendor or DEFAULT] = Delay(float(ms), float(jitter or 0))
        except ValueError as exc:
            raise ValueError(f"bad latency {item!r}: expected [VENDOR=]MS[:JITTER_MS]") from exc
    return out


def _delay(value: Any) -> Delay:
    if isinstance(value, (int, float)):
        return Delay(float(value))
    if not isinstance(value, dict) or set(value) - {"ms", "jitter_ms"}:
        raise ValueError(f"expected {{ms, jitter_ms}}, got {value!r}")
    return Delay(float(value.get("ms", 0)), float(value.get("jitter_ms", 0)))


class Latency:
    """The delay per vendor (and a default), with a seeded jitter RNG."""

    def __init__(self, delays: dict[str, Delay] | None = None, seed: int = 0) -> None:
        self.delays: dict[str, Delay] = {}
        self.rng = random.Random(f"latency:{seed}")
        self.set(delays or {})

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Latency:
        env = os.environ if env is None else env
        return cls(parse_spec(env.get(ENV, "")))

    def set(self, delays: dict[str, Delay]) -> None:
        self.delays.update(delays)
        self._cache: dict[str, Delay] = {}

    def configure(self, body: dict[str, Any]) -> None:
        """A control API body (see the module doc)."""
        if not isinstance(body, dict):
            raise ValueError("body must be a JSON object")
        if set(body) <= {"ms", "jitter_ms"} and body:
            self.set({DEFAULT: _delay(body)})
            return
        self.set({str(k).strip("/"): _delay(v) for k, v in body.items()})

    def clear(self) -> None:
        self.delays = {}
        self._cache = {}

    def for_vendor(self, vendor: str) -> Delay:
        d = self._cache.get(vendor)
        if d is None:
            d = self.delays.get(vendor)
            if d is None and vendor.endswith("-cdn"):
                d = self.delays.get(CDN)
            if d is None:
                d = self.delays.get(DEFAULT, Delay())
            self._cache[vendor] = d
        return d

    def draw_s(self, vendor: str) -> float:
        d = self.for_vendor(vendor)
        if d.jitter_ms <= 0:
            return d.ms / 1000.0
        return max(0.0, d.ms + self.rng.uniform(-d.jitter_ms, d.jitter_ms)) / 1000.0

    def public(self) -> dict[str, dict[str, float]]:
        out = {DEFAULT: Delay().public()}
        out.update({k: v.public() for k, v in sorted(self.delays.items())})
        return out


def of(state: Any) -> Latency:
    """The sandbox's latency settings (created from ``SANDBOX_LATENCY`` on first use)."""
    lat = getattr(state, "latency", None)
    if lat is None:
        lat = state.latency = Latency.from_env()
    return lat


class LatencyMiddleware:
    """Delays each vendor request and counts the vendor's requests in flight (outermost)."""

    def __init__(
        self, app, latency: Latency, stats: Stats, exempt: tuple[str, ...] = ("_control",)
    ):
        self.app = app
        self.latency = latency
        self.stats = stats
        self.exempt = exempt

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        vendor = vendor_of(scope["path"])
        if vendor in self.exempt:
            return await self.app(scope, receive, send)
        self.stats.enter(vendor)
        try:
            delay = self.latency.draw_s(vendor)
            if delay > 0:
                await asyncio.sleep(delay)
            await self.app(scope, receive, send)
        finally:
            self.stats.leave(vendor)


def routes(state: Any) -> list:
    """``/_control/latency`` (GET, POST, DELETE), mounted by ``control.routes``."""
    import orjson
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def latency(request: Request) -> Response:
        lat = of(state)
        if request.method == "DELETE":
            lat.clear()
        elif request.method == "POST":
            raw = await request.body()
            try:
                lat.configure(orjson.loads(raw) if raw.strip() else {})
            except (ValueError, TypeError) as exc:
                return Response(
                    orjson.dumps({"detail": str(exc)}),
                    status_code=400,
                    media_type="application/json",
                )
        return Response(orjson.dumps(lat.public()), media_type="application/json")

    return [Route("/latency", latency, methods=["GET", "POST", "DELETE"])]
