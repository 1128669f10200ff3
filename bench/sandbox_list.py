"""Measure how fast the sandbox serves /api2/asset/list, and its memory.

    python bench/sandbox_list.py [--assets 1000000] [--pages 2000] [--clients 1] [--json]

Starts a SandboxProcess, pages through asset/list (limit 100, default order) with raw
keep-alive HTTP clients (no JSON parsing on the client), and reports:
  * wall assets/s (bounded by the client on this 2-core machine),
  * server-CPU assets/s = assets served / server process CPU seconds (the server's capacity
    on one core, the figure that matters for "the server is not the bottleneck"),
  * server RSS after the world is built and after the run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandbox.server import SandboxProcess  # noqa: E402
from sandbox.uplynk import sign  # noqa: E402


def _worker(base: str, owner: str, key: str, skips: list[int], out: list[int]) -> None:
    u = urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    n = 0
    nbytes = 0
    for skip in skips:
        q = urlencode(sign({"skip": skip, "limit": 100}, owner, key))
        conn.request("GET", f"{u.path}/api2/asset/list?{q}")
        r = conn.getresponse()
        body = r.read()
        nbytes += len(body)
        n += body.count(b'"orig_filename"')
    conn.close()
    out.append(n)
    out.append(nbytes)


def run(assets: int, pages: int, clients: int) -> dict:
    with SandboxProcess(seed=1, assets=assets, startup_timeout=600) as sb:
        proc = psutil.Process(sb.pid)
        rss_built = proc.memory_info().rss
        base, owner, key = (
            sb.env["UPLYNK_BASE_URL"],
            sb.env["UPLYNK_OWNER"],
            sb.env["UPLYNK_API_KEY"],
        )
        # warm the ordering cache
        _worker(base, owner, key, [0], [])
        pages = min(pages, (assets + 99) // 100)
        step = max(1, ((assets + 99) // 100) // pages)
        skips = [p * step * 100 for p in range(pages)]
        ct0 = proc.cpu_times()
        cpu0 = ct0.user + ct0.system
        t0 = time.perf_counter()
        outs: list[list[int]] = [[] for _ in range(clients)]
        ths = [
            threading.Thread(target=_worker, args=(base, owner, key, skips[c::clients], outs[c]))
            for c in range(clients)
        ]
        for t in ths:
            t.start()
        for t in ths:
            t.join()
        wall = time.perf_counter() - t0
        ct1 = proc.cpu_times()
        cpu = ct1.user + ct1.system - cpu0
        user = ct1.user - ct0.user
        n = sum(o[0] for o in outs)
        nbytes = sum(o[1] for o in outs)
        rss_after = proc.memory_info().rss
        return {
            "assets_in_world": assets,
            "pages": pages,
            "clients": clients,
            "assets_served": n,
            "bytes": nbytes,
            "wall_s": round(wall, 3),
            "wall_assets_per_s": round(n / wall),
            "server_cpu_s": round(cpu, 3),
            "server_cpu_assets_per_s": round(n / cpu) if cpu else None,
            "server_user_cpu_s": round(user, 3),
            "server_user_cpu_assets_per_s": round(n / user) if user else None,
            "server_rss_mb_built": round(rss_built / 2**20, 1),
            "server_rss_mb_after": round(rss_after / 2**20, 1),
        }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--assets", type=int, default=1_000_000)
    p.add_argument("--pages", type=int, default=2000)
    p.add_argument("--clients", type=int, default=1)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    res = run(a.assets, a.pages, a.clients)
    if a.json:
        print(json.dumps(res))
    else:
        for k, v in res.items():
            print(f"{k:28s} {v}")


if __name__ == "__main__":
    main()
