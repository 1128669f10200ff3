"""IRIS.TV / media benchmark: URL probes per second against the sandbox's media CDN, Watch
calls per second, peak RSS.

Two sandboxes, one after the other: ``--iris-assets`` (default 10,000) for the IRIS phases,
``--assets`` (default 50,000) for the probe phases. Each phase is its own child process, so
its wall time, CPU time and peak RSS (``os.wait4`` ``ru_maxrss``) are its own:

0. setup, in each sandbox (not a figure of this bench): ``python -m connector sync uplynk``
   fills ``raw.uplynk_assets`` (the Watch walk's seeds and the ``mp4_url``s to probe);
1. **watch**: the IRIS sync's Watch walk alone (``SyncOptions(check_assets=False)``, first
   run: every Uplynk asset with an external_id is resolved, ``recs_only=true``). Watch calls
   per second = the sandbox's count of ``/watch`` calls over the sync's elapsed time;
2. **iris data API**: the IRIS sync's data API walk alone (``resolve=False``): every IRIS id
   read, its source URL probed while the token is in hand, expired ones refreshed;
3. **media probe** (the target): ``python -m connector probe media`` over every stored
   Uplynk ``mp4_url`` with the CDN's slow URLs (3%) answering after ``--slow-s`` seconds.
   Probes per second = the run's own ``probes_per_s`` (probes over its walk); the CDN's
   ``max_in_flight_by_host`` (a sandbox counter per Host header) shows the per-host limit
   held;
4. **media probe, default CDN** (``--skip-default-slow`` to leave out): the same with the
   sandbox's default ``slow_s`` (2 s): with a per-host limit of L and 3% of URLs holding a
   slot for 2 s, Little's law caps one host at about L / (0.03 x 2 s) probes/s.

Target (PASS/MISS; the exit code is non-zero only on errors): >= 3,000 probes/s on loopback
with the per-host limit respected (max in flight per host <= --per-host).

Usage: python bench/iris_probe.py [--assets N] [--json] [--slow-s 0.05] [--per-host 64]
       [--concurrency 256] [--probe-args "..."] [--skip-default-slow] [--profile]
(--json: all figures as one JSON object on the last line of stdout.)
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import (  # noqa: E402
    MB,
    child_env,
    load_average,
    log_targets,
    make_log,
    rounded,
    run_child,
    set_quiet_wait,
    vendor_requests,
)

TARGET_PROBES_PER_S = 3000.0
DEFAULT_SLOW_S = 2.0  # the sandbox's default slow_s (sandbox/iris_state.py)
IRIS_KEYS = (
    "watched",
    "resolved",
    "default_recs",
    "recommendations",
    "seeds_candidates",
    "assets_candidates",
    "assets_checked",
    "source_url_states",
    "refreshes_sent",
    "refresh_outcomes",
    "probes",
    "probe_requests",
    "requests",
    "retries",
    "failed_calls",
    "elapsed_s",
)


# ---------------------------------------------------------------------------------------
# the IRIS child (``iris_probe.py --iris-child watch|assets``)
# ---------------------------------------------------------------------------------------


def _iris_child(args: argparse.Namespace) -> int:
    from connector.iris import SyncOptions, sync_iris

    watch = args.iris_child == "watch"
    options = SyncOptions(resolve=watch, check_assets=not watch, concurrency=args.iris_concurrency)
    report = sync_iris(options=options, fast_transport=not args.slow_transport)
    print(orjson.dumps(report.as_dict()).decode())
    return 0


# ---------------------------------------------------------------------------------------
# phases
# ---------------------------------------------------------------------------------------


def setup_uplynk(sb, wh: Path, lake: Path, prefix: Path, log) -> dict[str, Any]:
    log("setup: Uplynk full sync (seeds and mp4_urls) ...")
    cmd = [sys.executable, "-m", "connector", "sync", "uplynk"]
    res = run_child(cmd, child_env(sb, ("UPLYNK_",), wh, lake), prefix)
    import duckdb

    con = duckdb.connect(str(wh), read_only=True)
    try:
        live, ext, mp4 = con.execute(
            "SELECT count(*), count(external_id), count(*) FILTER (WHERE mp4_url <> '') "
            "FROM raw.uplynk_assets WHERE deleted_at IS NULL"
        ).fetchone()
    finally:
        con.close()
    out = {
        "wall_s": res["wall_s"],
        "live_assets": int(live),
        "with_external_id": int(ext),
        "mp4_urls": int(mp4),
    }
    log(f"  {res['wall_s']:.1f} s: {live:,} live assets, {ext:,} with an external_id")
    return out


def iris_phase(sb, which: str, wh: Path, lake: Path, args, prefix: Path, sb_proc) -> dict:
    sb.reset_stats()
    sb.iris_reset_stats()
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--iris-child",
        which,
        "--iris-concurrency",
        str(args.iris_concurrency),
    ] + (["--slow-transport"] if args.slow_transport else [])
    res = run_child(cmd, child_env(sb, ("IRIS_",), wh, lake), prefix, sb_proc)
    res.update(vendor_requests(sb, ("iris", "media")))
    stats = sb.iris_stats()
    res["iris_requests"] = stats["requests"]
    res["recs_only_violations"] = stats["recs_only_violations"]
    res["refresh_violations"] = stats["refresh_violations"]
    res["cdn"] = {
        k: stats["cdn"][k] for k in ("requests", "max_in_flight", "max_in_flight_by_host")
    }
    report = res.pop("last_json") or {}
    res["report"] = {k: report.get(k) for k in IRIS_KEYS}
    elapsed = report.get("elapsed_s") or res["wall_s"]
    res["sync_elapsed_s"] = elapsed
    if which == "watch":
        calls = int(stats["requests"].get("watch", 0))
        res["watch_calls"] = calls
        res["watch_per_s"] = calls / elapsed
        res["watch_per_s_wall"] = calls / res["wall_s"]
    else:
        calls = int(stats["requests"].get("video_assets", 0))
        res["data_api_calls"] = calls
        res["data_api_per_s"] = calls / elapsed
        res["source_url_probes"] = int(report.get("probes") or 0)
    res["requests_per_s"] = res["requests"] / elapsed
    return res


def probe_phase(
    sb, slow_s: float, wh: Path, lake: Path, probe_args: list[str], prefix: Path, sb_proc
) -> dict:
    sb.iris_config(slow_s=slow_s)
    time.sleep(0.2)
    sb.reset_stats()
    sb.iris_reset_stats()
    cmd = [sys.executable, "-m", "connector", "probe", "media", *probe_args]
    res = run_child(cmd, child_env(sb, (), wh, lake), prefix, sb_proc)
    cdn = sb.media_stats()
    report = res.pop("last_json") or {}
    checked = report.get("checked") or {}
    probes = sum((checked.get("uplynk") or {}).values())
    res.update(
        {
            "slow_s": slow_s,
            "probes": probes,
            "checked": checked,
            "probe_requests": report.get("probe_requests"),
            "probes_per_s": report.get("probes_per_s"),
            "probes_per_s_wall": probes / res["wall_s"],
            "sync_elapsed_s": report.get("elapsed_s"),
            "cdn_requests": cdn["requests"],
            "cdn_statuses": cdn["statuses"],
            "cdn_methods": cdn["methods"],
            "max_in_flight": cdn["max_in_flight"],
            "max_in_flight_by_host": cdn.get("max_in_flight_by_host"),
        }
    )
    elapsed = report.get("elapsed_s") or res["wall_s"]
    res["cdn_requests_per_s"] = cdn["requests"] / elapsed
    # CPU per probe: the client's (its whole process, start-up included) and the sandbox's;
    # the client's event loop is one thread, so 1e6 / client_cpu_us_per_probe is about the
    # most it can do on a core of its own
    res["client_cpu_us_per_probe"] = res["cpu_s"] * 1e6 / max(1, probes)
    res["sandbox_cpu_us_per_request"] = (res["sandbox_cpu_s"] or 0) * 1e6 / max(1, cdn["requests"])
    return res


def startup_cost(probe_args: list[str], empty: Path) -> dict[str, Any]:
    """CPU and wall of ``probe media`` on an empty warehouse: interpreter start, imports,
    migrations; taken off a probe phase's CPU for its cost per probe."""
    empty.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CONNECTOR_WAREHOUSE": str(empty / "w.duckdb")}
    env["CONNECTOR_LAKE"] = str(empty / "lake")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, "-m", "connector", "probe", "media", *probe_args]
    res = run_child(cmd, env, empty / "startup")
    return {"cpu_s": res["cpu_s"], "wall_s": res["wall_s"], "peak_rss_mb": res["peak_rss_mb"]}


def run_profile(sb, wh: Path, lake: Path, probe_args: list[str], work: Path, rate: int) -> dict:
    """py-spy record one media probe run (raw stacks kept in the work dir)."""
    from bench.uplynk_sync import summarize_profile

    pyspy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(pyspy).exists():
        return {"error": "py-spy not installed (pip install py-spy into the venv)"}
    raw = work / "probe.pyspy.txt"
    cmd = [pyspy, "record", "--format", "raw", "--rate", str(rate), "--nonblocking", "--idle"]
    cmd += ["--threads", "-o", str(raw), "--", sys.executable, "-m", "connector", "probe"]
    cmd += ["media", *probe_args]
    res = run_child(cmd, child_env(sb, (), wh, lake), work / "pyspy_probe")
    summary = summarize_profile(raw)
    summary.update({"wall_s": res["wall_s"], "raw_stacks": str(raw), "rate_hz": rate})
    return summary


# ---------------------------------------------------------------------------------------
# the run
# ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--assets", type=int, default=50_000, help="world of the probe phases")
    p.add_argument(
        "--iris-assets", type=int, default=10_000, help="world of the IRIS phases (own sandbox)"
    )
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--json", action="store_true", help="all figures as one JSON object, last line")
    p.add_argument(
        "--slow-s", type=float, default=0.05, help="the CDN's slow URLs' delay (phase 3)"
    )
    p.add_argument("--per-host", type=int, default=64, help="the prober's per-host limit")
    p.add_argument("--concurrency", type=int, default=256, help="the prober's probes in flight")
    p.add_argument("--timeout-s", type=float, default=5.0)
    p.add_argument("--probe-args", default="", help="more args for `python -m connector probe`")
    p.add_argument("--iris-concurrency", type=int, default=16, help="IRIS calls in flight")
    p.add_argument(
        "--slow-transport", action="store_true", help="IRIS client on httpx's own transport"
    )
    p.add_argument("--skip-iris", action="store_true", help="leave out the Watch and data API")
    p.add_argument("--skip-default-slow", action="store_true")
    p.add_argument("--profile", action="store_true", help="py-spy one more media probe run")
    p.add_argument("--profile-rate", type=int, default=100)
    p.add_argument("--quiet-wait", type=float, default=60.0)
    p.add_argument("--workdir", default=None)
    p.add_argument("--keep", action="store_true")
    p.add_argument("--iris-child", choices=["watch", "assets"], help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.iris_child:
        return _iris_child(args)

    import psutil

    from sandbox.server import SandboxProcess

    set_quiet_wait(args.quiet_wait)
    log = make_log(args.json)
    probe_args = [
        "--per-host",
        str(args.per_host),
        "--concurrency",
        str(args.concurrency),
        "--timeout-s",
        str(args.timeout_s),
        *shlex.split(args.probe_args),
    ]
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="bench_iris_"))
    work.mkdir(parents=True, exist_ok=True)
    wh, lake = work / "warehouse.duckdb", work / "lake"
    out: dict[str, Any] = {
        "bench": "iris_probe",
        "assets": args.assets,
        "iris_assets": args.iris_assets,
        "seed": args.seed,
        "per_host": args.per_host,
        "concurrency": args.concurrency,
        "probe_cmd": shlex.join(["python", "-m", "connector", "probe", "media", *probe_args]),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "load_before": load_average(),
        "workdir": str(work),
    }
    try:
        if not args.skip_iris:
            with SandboxProcess(seed=args.seed, assets=args.iris_assets, startup_timeout=900) as sb:
                sb_proc = psutil.Process(sb.pid)
                iwh, ilake = work / "iris" / "warehouse.duckdb", work / "iris" / "lake"
                out["iris_setup"] = setup_uplynk(sb, iwh, ilake, work / "iris_uplynk", log)
                log("IRIS Watch walk ...")
                w = iris_phase(sb, "watch", iwh, ilake, args, work / "watch", sb_proc)
                log(f"  {w['watch_calls']:,} Watch calls, {w['watch_per_s']:,.0f}/s")
                out["watch"] = w
                log("IRIS data API walk (source URL probes, refreshes) ...")
                a = iris_phase(sb, "assets", iwh, ilake, args, work / "assets", sb_proc)
                log(f"  {a['data_api_calls']:,} data API calls, {a['data_api_per_s']:,.0f}/s")
                out["data_api"] = a
        t = time.perf_counter()
        with SandboxProcess(seed=args.seed, assets=args.assets, startup_timeout=900) as sb:
            sb_proc = psutil.Process(sb.pid)
            out["sandbox"] = {"start_s": round(time.perf_counter() - t, 1)}
            out["setup"] = setup_uplynk(sb, wh, lake, work / "uplynk", log)
            out["probe_startup"] = startup_cost(probe_args, work / "empty")
            phases = [("probe", args.slow_s)]
            if not args.skip_default_slow:
                phases.append(("probe_default_cdn", DEFAULT_SLOW_S))
            for key, slow in phases:
                log(f"media probe (slow URLs answer after {slow:g} s) ...")
                r = probe_phase(sb, slow, wh, lake, probe_args, work / key, sb_proc)
                log(
                    f"  {r['probes']:,} probes, {r['probes_per_s']:,.0f}/s; max in flight per "
                    f"host {r['max_in_flight_by_host']}, peak RSS {r['peak_rss_mb']:.0f} MB"
                )
                net = r["cpu_s"] - out["probe_startup"]["cpu_s"]
                r["client_cpu_us_per_probe_net"] = net * 1e6 / max(1, r["probes"])
                r["probes_per_s_one_core"] = 1e6 / max(1.0, r["client_cpu_us_per_probe_net"])
                out[key] = r
            if args.profile:
                sb.iris_config(slow_s=args.slow_s)
                log("profiling a media probe run with py-spy ...")
                out["profile"] = run_profile(sb, wh, lake, probe_args, work, args.profile_rate)
            out["sandbox"]["rss_mb_end"] = round(sb_proc.memory_info().rss / MB)
    except Exception as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        if args.json:
            out["error"] = str(exc)[-2000:]
            print(orjson.dumps(rounded(out)).decode())
        return 1
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    out["load_after"] = load_average()
    out["targets"] = evaluate(out, args.per_host)
    print_table(out, log)
    if args.json:
        print(orjson.dumps(rounded(out)).decode())
    return 0


def evaluate(out: dict[str, Any], per_host: int) -> list[dict[str, Any]]:
    r = out["probe"]
    most = max((r["max_in_flight_by_host"] or {}).values(), default=r["max_in_flight"])
    t = [
        {
            "target": f">= {TARGET_PROBES_PER_S:,.0f} media URL probes/s on loopback "
            f"(slow URLs {r['slow_s']:g} s)",
            "value": f"{r['probes_per_s']:,.0f}/s",
            "pass": r["probes_per_s"] >= TARGET_PROBES_PER_S,
        },
        {
            "target": f"per-host limit respected (max in flight per host <= {per_host})",
            "value": str(r["max_in_flight_by_host"]),
            "pass": most <= per_host,
        },
        {
            "target": f"every stored mp4_url probed ({out['setup']['mp4_urls']:,})",
            "value": f"{r['probes']:,}",
            "pass": r["probes"] == out["setup"]["mp4_urls"],
        },
    ]
    if "watch" in out:
        w = out["watch"]
        t.append(
            {
                "target": "recs_only never other than true (sandbox counter)",
                "value": str(w["recs_only_violations"] + out["data_api"]["recs_only_violations"]),
                "pass": w["recs_only_violations"] + out["data_api"]["recs_only_violations"] == 0,
            }
        )
        t.append(
            {
                "target": "no refresh against the vendor's rules (sandbox counter)",
                "value": str(out["data_api"]["refresh_violations"]),
                "pass": out["data_api"]["refresh_violations"] == 0,
            }
        )
    return t


def print_table(out: dict[str, Any], log) -> None:
    log("")
    s = out["setup"]
    log(
        f"IRIS / media benchmark: {out['assets']:,} assets (seed {out['seed']}; {s['mp4_urls']:,} "
        f"live mp4_urls, {s['with_external_id']:,} with an external_id), "
        f"{out['machine']['cpus']} CPUs, sandbox on the same machine; load "
        f"{out['load_before']} before, {out['load_after']} after"
    )
    hdr = (
        f"{'phase':30} {'seconds':>8} {'calls':>8} {'calls/s':>8} {'requests':>9} "
        f"{'peak RSS MB':>12} {'CPU s':>6} {'sandbox CPU s':>14} {'other CPU s':>12}"
    )
    log(hdr)
    log("-" * len(hdr))
    rows = []
    if "watch" in out:
        w, a = out["watch"], out["data_api"]
        rows.append(("IRIS Watch walk", w, w["watch_calls"], w["watch_per_s"], w["requests"]))
        rows.append(
            ("IRIS data API walk", a, a["data_api_calls"], a["data_api_per_s"], a["requests"])
        )
    for key, label in (("probe", "media probe"), ("probe_default_cdn", "media probe, default CDN")):
        if key in out:
            r = out[key]
            label = f"{label} (slow {r['slow_s']:g} s)"
            rows.append((label, r, r["probes"], r["probes_per_s"], r["cdn_requests"]))
    for label, r, calls, per_s, requests in rows:
        log(
            f"{label:30} {r['wall_s']:8.2f} {calls:8,} {per_s:8,.0f} {requests:9,} "
            f"{r['peak_rss_mb']:12,.0f} {r['cpu_s']:6.1f} {r['sandbox_cpu_s'] or 0:14.1f} "
            f"{r['other_cpu_s']:12.1f}"
        )
    log("(calls/s over the run's own elapsed time: Watch calls, data API calls, probes)")
    if "watch" in out:
        w, a, i = out["watch"], out["data_api"], out["iris_setup"]
        log(
            f"IRIS phases on their own sandbox: {out['iris_assets']:,} assets, "
            f"{i['with_external_id']:,} with an external_id (the Watch seeds)"
        )
        log(
            f"Watch: {w['report']['watched']:,} watched, {w['report']['resolved']:,} resolved, "
            f"{w['report']['default_recs']:,} default_recs, {w['report']['recommendations']:,} "
            f"recommendation rows; IRIS requests {w['iris_requests']}"
        )
        log(
            f"data API: {a['report']['assets_checked']:,} checked, states "
            f"{a['report']['source_url_states']}, refreshes {a['report']['refresh_outcomes']}; "
            f"source URL probes {a['source_url_probes']:,}; IRIS requests {a['iris_requests']}; "
            f"CDN max in flight per host {a['cdn']['max_in_flight_by_host']}"
        )
    for key in ("probe", "probe_default_cdn"):
        if key in out:
            r = out[key]
            log(
                f"{key}: checked {r['checked'].get('uplynk')}; CDN {r['cdn_requests']:,} requests "
                f"({r['cdn_requests_per_s']:,.0f}/s) {r['cdn_methods']}; max in flight "
                f"{r['max_in_flight']}, per host {r['max_in_flight_by_host']}; RSS by quarter "
                f"{r['rss_timeline'].get('max_mb_by_quarter')} MB; CPU per probe: client "
                f"{r['client_cpu_us_per_probe']:.0f} us ({r['client_cpu_us_per_probe_net']:.0f} "
                f"us without the {out['probe_startup']['cpu_s']:.1f} s start-up: "
                f"{r['probes_per_s_one_core']:,.0f} probes/s on a core of its own), sandbox "
                f"{r['sandbox_cpu_us_per_request']:.0f} us per request"
            )
    prof = out.get("profile")
    if prof and "threads" in prof:
        main = prof["threads"].get("main", {})
        log(f"py-spy (main thread busy {main.get('busy_pct_of_wall')}% of wall):")
        for e in main.get("self_top", [])[:10]:
            log(f"  {e['pct_of_wall']:5.1f}%  {e['function']}")
        log("  connector functions, inclusive:")
        for e in main.get("connector_inclusive_top", [])[:10]:
            log(f"  {e['pct_of_wall']:5.1f}%  {e['function']}")
    elif prof:
        log(f"profile: {prof.get('error')}")
    log("")
    log_targets(log, out["targets"])


if __name__ == "__main__":
    raise SystemExit(main())
