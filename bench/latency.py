"""Full syncs at real vendor latency: every source at 0, 50 and 150 ms added per response.

On loopback a request costs nothing; a real vendor answers in 50-300 ms, so a full sync's
time is set by how many requests it keeps in flight. The sandbox adds a fixed latency (plus
optional jitter) to every vendor response (``sandbox/latency.py``) and records the most
requests each vendor had in flight. For each latency L and each source this runs the
first full sync (``python -m connector sync <source>``, fresh warehouse, its own child
process) and prints:

* time: the sync's own ``elapsed_s`` (what the floor is compared with) and the process wall;
* requests per vendor, from the sandbox's ``/_control/stats``;
* the floor ``max over vendors of requests x L / concurrency``, where concurrency is the
  most requests the connector may keep in flight at that vendor (its configured limit: see
  ``ALLOWED``), and the ratio ``elapsed_s / floor``. A source that calls two hosts (IRIS:
  its API and the media CDN) can keep both busy at once, so the slowest host bounds it
  (until 2026-11-23 this summed the hosts, which a sync that overlaps them undercuts);
* the most requests in flight the sandbox saw per vendor, next to the allowed limit.

dlt's ``rest_api`` over the same Uplynk listing at the same latency runs beside it
(``bench/uplynk_sync.py``'s dlt child, reused as it is: offset paging, one request at a
time). A last phase at the highest latency runs the Uplynk full sync while the sandbox
deletes assets during the walk, and checks the listing stayed exact: every asset live from
before the sync to after it is stored live (``missed`` must be 0), and no asset deleted
before the sync started is stored live.

World: ``--assets N`` (default 20,000) for Uplynk, IBM and VALT (their catalogs are fixed
shares of it); IRIS runs on a ``--iris-assets`` world (default 2,000: its Watch walk makes
one call per Uplynk asset plus the data API calls and media probes, ~2.3 requests per
asset), after an untimed Uplynk sync at 0 ms (IRIS seeds from the stored Uplynk assets).

Target: ratio <= 1.2 at 150 ms for every source, and max in flight <= allowed.

Usage: python bench/latency.py [--assets N] [--iris-assets M] [--latencies 0,50,150]
       [--jitter-ms J] [--sources uplynk,ibm,valt,iris] [--skip-dlt] [--skip-deletions]
       [--seed S] [--keep] [--json]
(--json: all figures as one JSON object on the last line of stdout.)
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import uplynk_sync  # noqa: E402  (bench/uplynk_sync.py: child runner and the dlt config)

from bench._common import log_targets  # noqa: E402

SOURCES = ("uplynk", "ibm", "valt", "iris")
ENV_PREFIX = {"uplynk": "UPLYNK_", "ibm": "IBM_", "valt": "VALT_", "iris": "IRIS_"}


def allowed() -> dict[str, dict[str, int]]:
    """Per source: {vendor: most requests the connector may keep in flight there}, as the
    connector is configured (its defaults, or the ``*_CONCURRENCY`` environment variables)."""
    from connector.ibm import SyncOptions as IbmOptions
    from connector.iris import SyncOptions as IrisOptions
    from connector.uplynk import SyncOptions as UplynkOptions
    from connector.valt import SyncOptions as ValtOptions

    iris = IrisOptions()
    return {
        "uplynk": {"uplynk": UplynkOptions().list_concurrency},
        "ibm": {"ibm": IbmOptions().concurrency},
        "valt": {"valt": ValtOptions().details_concurrency},
        "iris": {"iris": iris.concurrency, "media-cdn": iris.probe_per_host},
    }


def floor_s(requests: dict[str, int], limits: dict[str, int], latency_ms: float) -> float:
    """The time no sync can beat: its busiest host's requests, ``limits`` at a time."""
    return max((n * latency_ms / 1000 / limits.get(v, 1) for v, n in requests.items()), default=0.0)


def source_env(sb, source: str, work: Path) -> dict[str, str]:
    env = {**os.environ}
    env.update({k: v for k, v in sb.env.items() if k.startswith(("UPLYNK_", ENV_PREFIX[source]))})
    env["CONNECTOR_WAREHOUSE"] = str(work / "warehouse.duckdb")
    env["CONNECTOR_LAKE"] = str(work / "lake")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_sync(sb, source: str, work: Path, sandbox_proc, latency_ms: float, limits) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    env = source_env(sb, source, work)
    sb.reset_stats()
    cmd = [sys.executable, "-m", "connector", "sync", source]
    res = uplynk_sync.run_child(cmd, env, work / source, sandbox_proc)
    snap = sb.stats()
    report = res.pop("last_json") or {}
    requests = {v: int(n) for v, n in snap["by_vendor"].items()}
    fl = floor_s(requests, limits, latency_ms)
    elapsed = float(report.get("elapsed_s") or res["wall_s"])
    return {
        "elapsed_s": elapsed,
        "wall_s": res["wall_s"],
        "cpu_s": res["cpu_s"],
        "sandbox_cpu_s": res["sandbox_cpu_s"],
        "peak_rss_mb": res["peak_rss_mb"],
        "requests": requests,
        "max_in_flight": snap.get("max_in_flight", {}),
        "allowed_in_flight": limits,
        "floor_s": fl,
        "ratio": elapsed / fl if fl > 0 else None,
        "within_limit": all(
            snap.get("max_in_flight", {}).get(v, 0) <= lim for v, lim in limits.items()
        ),
        "status": report.get("status"),
        "rows": report.get("inserted"),
    }


def run_dlt(sb, work: Path, sandbox_proc, latency_ms: float) -> dict:
    d = uplynk_sync.run_dlt(sb, work, "0", sandbox_proc)
    requests = int(d["requests"])
    fl = requests * latency_ms / 1000  # dlt pages one request at a time
    return {
        "elapsed_s": d["wall_s"],
        "wall_s": d["wall_s"],
        "peak_rss_mb": d["peak_rss_mb"],
        "requests": {"uplynk": requests},
        "rows": d.get("rows"),
        "floor_s_at_1": fl,
        "config": d.get("config"),
    }


def uplynk_under_deletions(sb, work: Path, sandbox_proc, latency_ms: float, limits) -> dict:
    """Full sync while the sandbox deletes assets during the walk; is the listing exact?"""
    before = {r["id"]: r for r in sb.expected_uplynk()}
    live_before = {i for i, r in before.items() if not r.get("deleted")}
    deleted_before = set(before) - live_before
    stop = threading.Event()
    deletes = [0]

    def churn() -> None:
        while not stop.wait(0.25):
            deletes[0] += int(sb.advance(0.25, deletes=25)["deleted"])

    t = threading.Thread(target=churn, daemon=True)
    t.start()
    try:
        res = run_sync(sb, "uplynk", work, sandbox_proc, latency_ms, limits)
    finally:
        stop.set()
        t.join()
    after = {r["id"]: r for r in sb.expected_uplynk()}
    live_after = {i for i, r in after.items() if not r.get("deleted")}
    import duckdb

    con = duckdb.connect(str(work / "warehouse.duckdb"), read_only=True)
    try:
        stored_live = {
            r[0]
            for r in con.execute(
                "SELECT asset_id FROM raw.uplynk_assets WHERE deleted_at IS NULL"
            ).fetchall()
        }
    finally:
        con.close()
    res.update(
        {
            "deleted_during_walk": deletes[0],
            "live_throughout": len(live_before & live_after),
            "missed": len((live_before & live_after) - stored_live),
            "stale_live": len(deleted_before & stored_live),
        }
    )
    res["exact"] = res["missed"] == 0 and res["stale_live"] == 0
    return res


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--assets", type=int, default=20_000)
    p.add_argument("--iris-assets", type=int, default=2_000)
    p.add_argument("--latencies", default="0,50,150", help="ms, comma separated")
    p.add_argument("--jitter-ms", type=float, default=0.0)
    p.add_argument("--sources", default=",".join(SOURCES))
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--skip-dlt", action="store_true")
    p.add_argument("--skip-deletions", action="store_true")
    p.add_argument("--keep", action="store_true", help="keep the work dir")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    import psutil

    from sandbox.server import SandboxProcess

    latencies = [float(x) for x in args.latencies.split(",") if x.strip()]
    sources = [s.strip() for s in args.sources.split(",") if s.strip()]
    limits = allowed()
    work = Path(tempfile.mkdtemp(prefix="bench_latency_"))
    out: dict[str, Any] = {
        "assets": args.assets,
        "iris_assets": args.iris_assets,
        "seed": args.seed,
        "jitter_ms": args.jitter_ms,
        "allowed_in_flight": limits,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_start": os.getloadavg(),
        },
        "rounds": [],
    }
    try:
        with SandboxProcess(seed=args.seed, assets=args.assets) as sb:
            sandbox_proc = psutil.Process(sb.pid)
            for lat in latencies:
                rnd: dict[str, Any] = {"latency_ms": lat, "sources": {}}
                delay = {"ms": lat, "jitter_ms": args.jitter_ms}
                sb.clear_latency()
                sb.reset(seed=args.seed, assets=args.assets)
                uplynk_sync._warm_sandbox(sb)
                sb.latency(default=delay)
                for src in [s for s in sources if s != "iris"]:
                    log(f"{lat:g} ms: {src} full sync ...")
                    r = run_sync(sb, src, work / f"{lat:g}ms_{src}", sandbox_proc, lat, limits[src])
                    rnd["sources"][src] = r
                    log(_line(src, r))
                if "uplynk" in sources and not args.skip_dlt:
                    log(f"{lat:g} ms: dlt rest_api on the Uplynk listing ...")
                    d = run_dlt(sb, work / f"{lat:g}ms_dlt", sandbox_proc, lat)
                    up = rnd["sources"].get("uplynk")
                    if up:
                        d["vs_connector"] = d["elapsed_s"] / up["elapsed_s"]
                    rnd["dlt"] = d
                    log(f"  dlt: {d['elapsed_s']:.1f} s, {d['requests']['uplynk']:,} requests")
                if "iris" in sources:
                    sb.clear_latency()
                    sb.reset(seed=args.seed, assets=args.iris_assets)
                    iris_work = work / f"{lat:g}ms_iris"
                    iris_work.mkdir(parents=True)
                    log(f"{lat:g} ms: iris (Uplynk seeds synced first at 0 ms) ...")
                    run_sync(sb, "uplynk", iris_work, sandbox_proc, 0.0, limits["uplynk"])
                    sb.latency(default=delay)
                    r = run_sync(sb, "iris", iris_work, sandbox_proc, lat, limits["iris"])
                    rnd["sources"]["iris"] = r
                    log(_line("iris", r))
                out["rounds"].append(rnd)
            if "uplynk" in sources and not args.skip_deletions and latencies:
                lat = max(latencies)
                log(f"{lat:g} ms: uplynk full sync with deletions during the walk ...")
                sb.clear_latency()
                sb.reset(seed=args.seed, assets=args.assets)
                uplynk_sync._warm_sandbox(sb)
                sb.latency(default={"ms": lat, "jitter_ms": args.jitter_ms})
                r = uplynk_under_deletions(
                    sb, work / "deletions", sandbox_proc, lat, limits["uplynk"]
                )
                r["latency_ms"] = lat
                out["uplynk_under_deletions"] = r
                log(
                    f"  {r['deleted_during_walk']} deleted during the walk; missed {r['missed']}, "
                    f"stale live {r['stale_live']} -> {'exact' if r['exact'] else 'NOT exact'}"
                )
    except Exception as exc:
        log(f"bench failed: {exc}")
        if args.json:
            out["error"] = str(exc)[-2000:]
            print(orjson.dumps(out).decode())
        return 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    out["machine"]["loadavg_end"] = os.getloadavg()
    out["targets"] = targets(out)
    print_table(out, log)
    if args.json:
        print(orjson.dumps(uplynk_sync._rounded(out)).decode())
    return 0


def _line(src: str, r: dict) -> str:
    ratio = f"{r['ratio']:.2f}x" if r["ratio"] else "-"
    return (
        f"  {src}: {r['elapsed_s']:.1f} s, requests {r['requests']}, floor {r['floor_s']:.1f} s, "
        f"ratio {ratio}, max in flight {r['max_in_flight']} (allowed {r['allowed_in_flight']})"
    )


def targets(out: dict[str, Any]) -> list[dict[str, Any]]:
    t: list[dict[str, Any]] = []
    top = max(out["rounds"], key=lambda r: r["latency_ms"], default=None)
    if top and top["latency_ms"] > 0:
        for src, r in top["sources"].items():
            t.append(
                {
                    "target": f"{src}: within 1.2x of the floor at {top['latency_ms']:g} ms",
                    "value": round(r["ratio"], 2),
                    "pass": r["ratio"] <= 1.2,
                }
            )
    for rnd in out["rounds"]:
        if rnd["latency_ms"] <= 0:
            continue  # on loopback the server finishes each request before the next
        for src, r in rnd["sources"].items():
            t.append(
                {
                    "target": f"{src} at {rnd['latency_ms']:g} ms: max in flight <= allowed",
                    "value": f"{r['max_in_flight']} vs {r['allowed_in_flight']}",
                    "pass": r["within_limit"],
                }
            )
    d = out.get("uplynk_under_deletions")
    if d:
        t.append(
            {
                "target": "uplynk listing exact under deletions during the walk",
                "value": f"{d['deleted_during_walk']} deleted, missed {d['missed']}, "
                f"stale {d['stale_live']}",
                "pass": d["exact"],
            }
        )
    return t


def print_table(out: dict[str, Any], log) -> None:
    log("")
    log(
        f"Full syncs at added vendor latency: {out['assets']:,}-asset world (IRIS on "
        f"{out['iris_assets']:,}), jitter {out['jitter_ms']:g} ms, {out['machine']['cpus']} CPUs"
    )
    hdr = (
        f"{'latency':>7} {'source':8} {'sync s':>7} {'wall s':>7} {'requests':>9} "
        f"{'floor s':>8} {'ratio':>6} {'max in flight / allowed':>26}"
    )
    log(hdr)
    log("-" * len(hdr))
    for rnd in out["rounds"]:
        rows = list(rnd["sources"].items())
        if "dlt" in rnd:
            rows.append(("dlt", rnd["dlt"]))
        for src, r in rows:
            req = sum(r["requests"].values())
            fl = r.get("floor_s", r.get("floor_s_at_1", 0.0))
            ratio = r.get("ratio") or (r["elapsed_s"] / fl if src == "dlt" and fl else None)
            inflight = ", ".join(
                f"{v} {r.get('max_in_flight', {}).get(v, '-')}/{a}"
                for v, a in r.get("allowed_in_flight", {}).items()
            )
            log(
                f"{rnd['latency_ms']:7g} {src:8} {r['elapsed_s']:7.1f} {r['wall_s']:7.1f} {req:9,} "
                f"{fl:8.1f} {'-' if ratio is None else f'{ratio:.2f}':>6} {inflight:>26}"
            )
    log("(sync s: the sync's own elapsed_s; dlt: process wall, its floor at 1 request in flight)")
    log("")
    log_targets(log, out["targets"])


if __name__ == "__main__":
    raise SystemExit(main())
