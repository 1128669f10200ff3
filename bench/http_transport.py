"""Throughput of the HTTP core's transports on loopback.

Starts a tiny aiohttp server in a child process (uvloop when available), then times N
small GET requests at a given concurrency through:

* raw httpx.AsyncClient (default httpcore transport) and raw aiohttp (references);
* raw httpx over httpx_aiohttp.AiohttpTransport;
* connector.http.AsyncHttpClient with the default and the fast transport (full stack:
  retries, metrics, JSON parsing);
* AsyncHttpClient(fast) + RateLimiter against an endpoint enforcing a fixed-window
  limit with X-RateLimit-* headers (default 1000 req/s): achieved rate and 429 share.

Usage: python bench/http_transport.py [--requests N] [--concurrency C] [--limit-rps R]
       [--limited-requests M] [--json]   (--json: figures as one JSON object, last line)
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing as mp
import os
import platform
import sys
import time

import orjson

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PAYLOAD = orjson.dumps(
    {
        "id": "0123456789abcdef",
        "title": "A video",
        "length": "125.5",
        "views": 42,
        "expiration": {"rule": "at_given_time", "expires_at": 1767225600},
    }
)


def _serve(q: mp.Queue, limit_rps: int) -> None:
    from aiohttp import web

    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    state = {"idx": None, "count": 0}

    async def item(_req: web.Request) -> web.Response:
        return web.Response(body=PAYLOAD, content_type="application/json")

    async def limited(_req: web.Request) -> web.Response:
        now = time.time()
        idx = math.floor(now)
        if idx != state["idx"]:
            state["idx"], state["count"] = idx, 0
        h = {"X-RateLimit-Limit": str(limit_rps), "X-RateLimit-Reset": str(idx + 1)}
        if state["count"] >= limit_rps:
            h["X-RateLimit-Remaining"] = "0"
            return web.Response(
                status=429,
                body=b'{"error":"rate_limited"}',
                headers=h,
                content_type="application/json",
            )
        state["count"] += 1
        h["X-RateLimit-Remaining"] = str(limit_rps - state["count"])
        return web.Response(body=PAYLOAD, headers=h, content_type="application/json")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/item/{i}", item)
        app.router.add_get("/limited/{i}", limited)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        q.put(site._server.sockets[0].getsockname()[1])
        await asyncio.Event().wait()

    asyncio.run(main())


async def _drive(n: int, concurrency: int, fn) -> float:
    counter = iter(range(n))

    async def worker() -> None:
        for i in counter:
            await fn(i)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - t0


async def bench_raw_httpx(base: str, n: int, c: int, fast: bool) -> float:
    import httpx

    limits = httpx.Limits(max_connections=c, max_keepalive_connections=c)
    transport = None
    if fast:
        from httpx_aiohttp import AiohttpTransport

        transport = AiohttpTransport(limits=limits)
    async with httpx.AsyncClient(base_url=base, limits=limits, transport=transport) as cl:

        async def one(i: int) -> None:
            r = await cl.get(f"/item/{i}")
            orjson.loads(r.content)

        await _drive(min(200, n), c, one)
        return n / await _drive(n, c, one)


async def bench_raw_aiohttp(base: str, n: int, c: int) -> float:
    import aiohttp

    async with aiohttp.ClientSession(base, connector=aiohttp.TCPConnector(limit=c)) as s:

        async def one(i: int) -> None:
            async with s.get(f"/item/{i}") as r:
                orjson.loads(await r.read())

        await _drive(min(200, n), c, one)
        return n / await _drive(n, c, one)


async def bench_core(base: str, n: int, c: int, fast: bool) -> float:
    from connector.http import AsyncHttpClient

    async with AsyncHttpClient(base, vendor="bench", max_connections=c, fast_transport=fast) as cl:

        async def one(i: int) -> None:
            await cl.request("GET", f"/item/{i}")

        await _drive(min(200, n), c, one)
        return n / await _drive(n, c, one)


async def bench_limited(base: str, n: int, c: int, limit_rps: int) -> dict[str, float]:
    from connector.http import AsyncHttpClient, RateLimiter

    limiter = RateLimiter()
    async with AsyncHttpClient(
        base, vendor="bench", max_connections=c, fast_transport=True, rate_limiter=limiter
    ) as cl:

        async def one(i: int) -> None:
            await cl.request("GET", f"/limited/{i}")

        dt = await _drive(n, c, one)
        m = cl.metrics
    return {
        "limit_rps": limit_rps,
        "requests_ok": n,
        "achieved_rps": round(n / dt, 1),
        "share_of_limit": round(n / dt / limit_rps, 3),
        "responses_429": m.responses_429,
        "share_429": round(m.responses_429 / max(1, m.requests), 5),
        "limiter_effective_rps": round(limiter.effective_rate or 0.0, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--limit-rps", type=int, default=1000)
    ap.add_argument("--limited-requests", type=int, default=10000, help="0 to skip")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()

    q: mp.Queue = mp.Queue()
    proc = mp.Process(target=_serve, args=(q, a.limit_rps), daemon=True)
    proc.start()
    try:
        port = q.get(timeout=20)
        base = f"http://127.0.0.1:{port}"
        n, c = a.requests, a.concurrency
        rps: dict[str, float] = {}
        runs = [
            ("raw_httpx_default", lambda: bench_raw_httpx(base, n, c, False)),
            ("raw_httpx_aiohttp_transport", lambda: bench_raw_httpx(base, n, c, True)),
            ("raw_aiohttp", lambda: bench_raw_aiohttp(base, n, c)),
            ("core_default_transport", lambda: bench_core(base, n, c, False)),
            ("core_fast_transport", lambda: bench_core(base, n, c, True)),
        ]
        for name, fn in runs:
            rps[name] = round(asyncio.run(fn()), 1)
            print(f"{name:32s} {rps[name]:10.1f} req/s")
        limited = None
        if a.limited_requests:
            limited = asyncio.run(bench_limited(base, a.limited_requests, c, a.limit_rps))
            print(f"rate-limited ({a.limit_rps}/s fixed window): {limited}")
        out = {
            "bench": "http_transport",
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "requests": n,
            "concurrency": c,
            "requests_per_s": rps,
            "fast_vs_default_core": round(
                rps["core_fast_transport"] / rps["core_default_transport"], 2
            ),
            "rate_limited": limited,
        }
        if a.json:
            print(orjson.dumps(out).decode())
    finally:
        proc.terminate()
        proc.join(5)


if __name__ == "__main__":
    main()
