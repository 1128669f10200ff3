"""IBM expiration checks under a 1,000 requests/s limit: the connector vs a sequential loop.

    python bench/ibm_expirations.py [--videos 100000] [--limit 1000] [--baseline-videos 5000] [--json]

Starts its own sandbox (sandbox.server.SandboxProcess) with a world holding about
``--videos`` IBM videos and the expiration endpoint limited to ``--limit`` requests per 1 s
window. Then, in this one process:

1. baseline: a plain sequential ``httpx.Client`` GET loop over ``--baseline-videos`` of the
   videos (no limiter, default httpx transport);
2. the connector: a full IBM sync (``connector.ibm.sync_ibm``) into a fresh DuckDB warehouse:
   channel listing, then every video's expiration (all new), concurrent on the fast transport
   and paced by the RateLimiter that learns the X-RateLimit-* headers.

Prints, for each: requests/s, share of the limit (target >= 90% for the connector), 429 share
(target < 1%), and the process's peak RSS after it. ``--json`` prints all figures as one JSON
object on the last line.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from connector.config import IbmSettings  # noqa: E402
from connector.ibm import SyncOptions, sync_ibm  # noqa: E402
from connector.warehouse import Warehouse  # noqa: E402
from sandbox.server import SandboxProcess  # noqa: E402

IBM_SHARE = 0.42  # listed IBM videos per canonical asset in the sandbox world (about)


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def baseline(sb: SandboxProcess, ids: list[str], limit: int) -> dict:
    env = sb.env
    with httpx.Client(timeout=30.0) as c:
        tok = c.post(
            env["IBM_VIDEO_TOKEN_URL"],
            data={"grant_type": "client_credentials", "client_id": env["IBM_VIDEO_CLIENT_ID"]},
            auth=(env["IBM_VIDEO_CLIENT_ID"], env["IBM_VIDEO_CLIENT_SECRET"]),
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {tok}"}
        base = env["IBM_VIDEO_API_URL"]
        n429 = 0
        t0 = time.perf_counter()
        for vid in ids:
            r = c.get(f"{base}/videos/{vid}/expiration.json", headers=headers)
            n429 += r.status_code == 429
        dt = time.perf_counter() - t0
    rps = len(ids) / dt
    return {
        "requests": len(ids),
        "elapsed_s": round(dt, 2),
        "requests_per_s": round(rps, 1),
        "share_of_limit": round(rps / limit, 3),
        "responses_429": n429,
        "share_429": round(n429 / len(ids), 4),
        "answered_per_s": round((len(ids) - n429) / dt, 1),  # 429s are not retried here
        "peak_rss_mb": peak_rss_mb(),
    }


def connector(sb: SandboxProcess, limit: int, concurrency: int) -> dict:
    settings = IbmSettings.from_env(sb.env)
    with tempfile.TemporaryDirectory() as d:
        wh = Warehouse(Path(d) / "bench.duckdb", Path(d) / "lake")
        sb.ibm_reset_stats()
        t0 = time.perf_counter()
        report = sync_ibm(
            settings, wh, SyncOptions(concurrency=concurrency, checkpoint_rows=10_000)
        )
        total = time.perf_counter() - t0
    stats = sb.ibm_stats()
    served = stats["requests"]["expiration"]
    served_429 = stats["responses_429"]["expiration"]
    return {
        "videos_listed": report.videos_listed,
        "expirations_checked": report.expirations_checked,
        "requests": report.expiration_requests,
        "elapsed_s": report.expiration_elapsed_s,
        "requests_per_s": report.requests_per_s,
        "share_of_limit": round(report.requests_per_s / limit, 3),
        "responses_429": served_429,
        "share_429": round(served_429 / max(1, served), 4),
        "answered_per_s": round((served - served_429) / max(1e-9, report.expiration_elapsed_s), 1),
        "sync_elapsed_s": round(total, 2),
        "listing_pages": report.pages,
        "all_requests": report.requests,
        "all_429": report.responses_429,
        "peak_rss_mb": peak_rss_mb(),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--videos", type=int, default=100_000)
    p.add_argument("--limit", type=int, default=1000, help="expiration requests per second")
    p.add_argument("--baseline-videos", type=int, default=5000)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)

    assets = int(a.videos / IBM_SHARE) + 100
    with SandboxProcess(seed=a.seed, assets=assets, startup_timeout=300) as sb:
        sb.ibm_config(
            rate_limits={
                "expiration": {"limit": a.limit, "window_s": 1},
                "videos": {"limit": 1000, "window_s": 1},
            }
        )
        ids = [r["id"] for r in sb.expected_ibm() if r["listed"]]
        base = baseline(sb, ids[: a.baseline_videos], a.limit)
        time.sleep(1.1)  # a fresh rate-limit window
        conn = connector(sb, a.limit, a.concurrency)
    out = {
        "videos": len(ids),
        "limit_per_s": a.limit,
        "concurrency": a.concurrency,
        "connector": conn,
        "baseline_sequential_httpx": base,
        "answered_vs_baseline": round(
            conn["answered_per_s"] / max(1e-9, base["answered_per_s"]), 2
        ),
    }
    print(f"IBM expirations, limit {a.limit}/s, {len(ids):,} videos listed in the sandbox")
    for name, r in (
        ("connector (sync_ibm)", conn),
        (f"baseline: sequential httpx, {base['requests']:,} videos", base),
    ):
        print(
            f"  {name:<40} {r['requests']:>7,} req in {r['elapsed_s']:>7.2f}s = {r['requests_per_s']:>7.1f} req/s "
            f"({100 * r['share_of_limit']:.1f}% of limit), 429s {r['responses_429']} "
            f"({100 * r['share_429']:.2f}%), peak RSS {r['peak_rss_mb']} MB"
        )
    print("  (the baseline does not retry its 429s: those videos stay unchecked)")
    print(
        f"  full sync (listing {conn['listing_pages']} pages + checks + DuckDB): {conn['sync_elapsed_s']}s"
    )
    if a.json:
        print(orjson.dumps(out).decode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
