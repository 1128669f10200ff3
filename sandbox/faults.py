"""Fault injection and request counting, as one pure-ASGI middleware.

A fault config (set per run through POST /_control/faults) is one rule or a list of rules:

    {"scope": "uplynk" | "all",      # vendor path prefix (first path segment) or every vendor
     "p_500": 0.0, "p_503": 0.0,     # probability of an HTTP 500 / 503
     "p_429": 0.0, "retry_after_s": 1,  # 429 with Retry-After seconds (and X-RateLimit-* headers)
     "p_slow": 0.0, "slow_s": 0.2,   # answer normally after slow_s seconds
     "p_timeout": 0.0, "timeout_s": 5.0,  # sleep timeout_s (longer than the client waits), then answer
     "p_truncate": 0.0,              # status 200 with the body cut mid-way (a media file,
                                     # VALT's CDN video bytes: its own status and headers,
                                     # the connection closed mid-body)
     "seed": <int, default the world seed>}

(Aliases accepted: p500, p503, p429, retry_after.)

One uniform draw per request from a deterministic RNG (seeded by seed and the rule) picks at
most one fault, in the order 500, 503, 429, timeout, truncate, slow. /_control is never faulted.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from .stats import Stats, vendor_of

ALIASES = {"p500": "p_500", "p503": "p_503", "p429": "p_429", "retry_after": "retry_after_s"}
KINDS = ("http_500", "http_503", "http_429", "timeout", "truncate", "slow")


@dataclass
class FaultRule:
    scope: str = "all"
    p_500: float = 0.0
    p_503: float = 0.0
    p_429: float = 0.0
    retry_after_s: float = 1
    p_slow: float = 0.0
    slow_s: float = 0.2
    p_timeout: float = 0.0
    timeout_s: float = 5.0
    p_truncate: float = 0.0
    seed: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(f"{self.seed}:{self.scope}")

    def matches(self, vendor: str) -> bool:
        return self.scope in ("all", "*", "") or self.scope.strip("/") == vendor

    def draw(self) -> str | None:
        u = self.rng.random()
        acc = 0.0
        for kind, p in zip(
            KINDS,
            (self.p_500, self.p_503, self.p_429, self.p_timeout, self.p_truncate, self.p_slow),
            strict=True,
        ):
            acc += p
            if u < acc:
                return kind
        return None

    def public(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("rng", None)
        return d


class Faults:
    def __init__(self) -> None:
        self.rules: list[FaultRule] = []

    def configure(self, spec: dict[str, Any] | list[dict[str, Any]], default_seed: int = 0) -> None:
        if isinstance(spec, dict) and "rules" in spec:
            spec = spec["rules"]
        items = spec if isinstance(spec, list) else [spec]
        allowed = set(FaultRule.__dataclass_fields__) - {"rng"}
        rules = []
        for it in items:
            it = {ALIASES.get(k, k): v for k, v in it.items()}
            unknown = set(it) - allowed
            if unknown:
                raise ValueError(f"unknown fault fields: {sorted(unknown)}")
            it = {"seed": default_seed, **it}
            rules.append(FaultRule(**it))
        self.rules = rules

    def clear(self) -> None:
        self.rules = []

    def pick(self, vendor: str) -> tuple[FaultRule, str] | None:
        for r in self.rules:
            if r.matches(vendor):
                k = r.draw()
                return (r, k) if k else None
        return None

    def public(self) -> list[dict[str, Any]]:
        return [r.public() for r in self.rules]


class FaultAndStatsMiddleware:
    """Counts every request per (vendor, path, status) and serves configured faults."""

    def __init__(self, app, faults: Faults, stats: Stats, exempt: tuple[str, ...] = ("_control",)):
        self.app = app
        self.faults = faults
        self.stats = stats
        self.exempt = exempt

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        vendor = vendor_of(path)
        if vendor in self.exempt:
            return await self.app(scope, receive, send)
        status_box = [0]

        async def counting_send(message):
            if message["type"] == "http.response.start":
                status_box[0] = message["status"]
            await send(message)

        picked = self.faults.pick(vendor)
        try:
            if picked is None:
                await self.app(scope, receive, counting_send)
                return
            rule, kind = picked
            self.stats.fault(vendor, kind)
            if kind in ("http_500", "http_503", "http_429"):
                status = int(kind[-3:])
                headers = [(b"content-type", b"application/json")]
                if status == 429:
                    ra = rule.retry_after_s
                    headers += [
                        (b"retry-after", str(int(ra) if float(ra).is_integer() else ra).encode()),
                        (b"x-ratelimit-limit", b"100"),
                        (b"x-ratelimit-remaining", b"0"),
                        (b"x-ratelimit-reset", str(int(time.time() + float(ra)) + 1).encode()),
                    ]
                body = orjson.dumps({"error": status, "msg": f"sandbox fault: HTTP {status}"})
                headers.append((b"content-length", str(len(body)).encode()))
                await counting_send(
                    {"type": "http.response.start", "status": status, "headers": headers}
                )
                await counting_send({"type": "http.response.body", "body": body})
                return
            if kind == "slow":
                await asyncio.sleep(rule.slow_s)
                await self.app(scope, receive, counting_send)
                return
            if kind == "timeout":
                await asyncio.sleep(rule.timeout_s)
                await self.app(scope, receive, counting_send)
                return
            await _truncate(self.app, scope, receive, counting_send, rule.rng)
        finally:
            self.stats.count(vendor, path, status_box[0])


MEDIA_TYPES = (b"video/", b"audio/", b"image/", b"application/octet-stream")


def is_media(headers: list[tuple[bytes, bytes]]) -> bool:
    """Is this response a media file (a CDN's video bytes), streamed rather than buffered?"""
    ctype = next((v for k, v in headers if k.lower() == b"content-type"), b"")
    return ctype.lower().startswith(MEDIA_TYPES)


class _Cut(Exception):
    """Raised into the vendor app once a streamed body has been cut."""


async def _truncate(app, scope, receive, send, rng: random.Random) -> None:
    """The vendor's answer cut at a random byte (a flaky proxy cuts at a different byte each
    time). A body is buffered and sent whole-but-short: status 200, Content-Length of the
    cut. A media file (VALT's CDN video bytes, ``is_media``) is never buffered: its own status
    and headers go out, the body stops at the cut and the connection closes mid-response."""
    start: dict[str, Any] = {}
    chunks: list[bytes] = []
    budget = [-1]  # bytes a streamed media body may still send; -1: buffering

    async def cutting_send(message):
        if message["type"] == "http.response.start":
            start.update(message)
            headers = message.get("headers", [])
            length = next((v for k, v in headers if k.lower() == b"content-length"), b"")
            if is_media(headers) and length.isdigit() and int(length) > 1:
                budget[0] = rng.randint(1, int(length) - 1)
                await send(message)
            return
        body = message.get("body", b"")
        if budget[0] < 0:
            chunks.append(body)
        elif len(body) >= budget[0]:
            await send({"type": "http.response.body", "body": body[: budget[0]], "more_body": True})
            raise _Cut
        else:
            budget[0] -= len(body)
            await send(message)

    try:
        await app(scope, receive, cutting_send)
    except _Cut:
        return
    if budget[0] >= 0:  # a streamed body shorter than it said: nothing left to cut
        return
    body = b"".join(chunks)
    cut = body[: rng.randint(1, len(body) - 1)] if len(body) > 1 else b"{"
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(cut)).encode()))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": cut})
