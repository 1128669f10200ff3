"""Everything at once: all four sources' syncs materialized together by Dagster's
multiprocess executor, full and then incremental, on a base world and a 10x world.

One job selects ``uplynk_sync``, ``ibm_sync``, ``valt_sync`` and ``iris_sync`` (IRIS depends
on the stored Uplynk assets, so its step starts when Uplynk's ends; the other three start
together) and runs on ``dg.multiprocess_executor`` (``--max-concurrent``, default 4: every
source a process of its own) with a ``DagsterInstance`` in a temp dir. For each world
(``--assets N``, then ``--scale`` x N): a fresh warehouse, the job once (the first, full
syncs), ``/_control/advance`` (``--advance-s`` seconds of churn: creates, updates, deletes),
the job again (incremental). Reported per run:

* wall time of the job, and per step its start, duration and process id;
* the time each step spent **waiting for the warehouse lock**: a DuckDB file is locked by
  the one process that has it open (``connector/warehouse/backends.py``: ``retry_locked``
  retries ``duckdb.connect`` while another process holds the file, and the warehouse counts
  the waits but not their time). The bench times them without touching the connector: the
  step processes start with a ``sitecustomize`` (written to the work dir, on
  ``PYTHONPATH``) that wraps ``retry_locked`` and appends each wait's duration to a log.
  Shares: summed waits / summed step durations, and the longest step's waits / its duration;
* peak RSS per process (psutil samples of the bench's process tree every 0.2 s, each
  process by pid; step processes named by their step from the run's STEP_START events).

``--ducklake`` runs the same on DuckLake (catalog in PostgreSQL, data in S3: local
PostgreSQL and moto from ``tests/lake_servers.py``), where writers do not lock each other
(commit conflicts are retried instead); with the file lock gone, the difference is what the
lock cost.

Usage: python bench/all_sources.py [--assets N] [--scale K] [--max-concurrent C]
       [--advance-s S] [--ducklake | --ducklake-only] [--seed S] [--keep] [--json]
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
import time
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import rounded  # noqa: E402

MB = 1024 * 1024
ASSETS = ("uplynk_sync", "ibm_sync", "valt_sync", "iris_sync")
SOURCE_VARS = ("UPLYNK_", "IBM_", "VALT_", "IRIS_")

# Loaded by every step process (PYTHONPATH), only when BENCH_LOCK_LOG is set: times the
# warehouse's waits for another process's file lock, one JSON line per opening that waited.
SITECUSTOMIZE = """
import os
if os.environ.get("BENCH_LOCK_LOG"):
    import json, time
    from connector.warehouse import backends as _b

    _orig = _b.retry_locked

    def retry_locked(open_fn, what, timeout_s, on_wait, also=lambda exc: False):
        waits = [0]

        def counted():
            waits[0] += 1
            on_wait()

        t0 = time.perf_counter()
        try:
            return _orig(open_fn, what, timeout_s, counted, also)
        finally:
            if waits[0]:
                line = {"pid": os.getpid(), "wait_s": time.perf_counter() - t0, "waits": waits[0]}
                with open(os.environ["BENCH_LOCK_LOG"], "a") as f:
                    f.write(json.dumps(line) + "\\n")

    _b.retry_locked = retry_locked
"""


def _job():
    """The four sources' syncs on the multiprocess executor (module level: reconstructable)."""
    import dagster as dg

    from assets_defs import defs, ibm, iris, uplynk, valt

    job = dg.define_asset_job("all_sources", executor_def=dg.multiprocess_executor)
    assets = [uplynk.uplynk_sync, ibm.ibm_sync, valt.valt_sync, iris.iris_sync]
    return dg.Definitions(assets=assets, resources=defs.resources, jobs=[job]).resolve_job_def(
        "all_sources"
    )


class RssSampler:
    """Peak RSS of every process under this one, by pid, every ``every`` s."""

    def __init__(self, every: float = 0.2) -> None:
        import psutil

        self.me = psutil.Process()
        self.every = every
        self.peak: dict[int, dict[str, Any]] = {}
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            for p in [self.me, *self.me.children(recursive=True)]:
                try:
                    rss = p.memory_info().rss
                    entry = self.peak.get(p.pid)
                    if entry is None:
                        cmd = " ".join(p.cmdline()[1:4])[:120]
                        entry = self.peak[p.pid] = {"rss": 0, "cmd": cmd}
                    entry["rss"] = max(entry["rss"], rss)
                except psutil.Error:
                    pass
            self._stop.wait(self.every)

    def __enter__(self) -> RssSampler:
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()


def run_job(home: Path, lock_log: Path, max_concurrent: int) -> dict[str, Any]:
    """Run the job once; ``lock_log`` is the file every step process appends its lock waits
    to (BENCH_LOCK_LOG, set once: the executor's processes may outlive one run)."""
    import dagster as dg

    lock_log.touch()
    offset = lock_log.stat().st_size
    home.mkdir(parents=True, exist_ok=True)
    run_config = {
        "execution": {"config": {"max_concurrent": max_concurrent}},
        "loggers": {"console": {"config": {"log_level": "WARNING"}}},
    }
    t0 = time.perf_counter()
    with dg.DagsterInstance.local_temp(str(home)) as instance, RssSampler() as rss:
        result = dg.execute_job(dg.reconstructable(_job), instance=instance, run_config=run_config)
        wall = time.perf_counter() - t0
        steps: dict[str, dict[str, Any]] = {}
        for record in instance.all_logs(result.run_id):
            ev = record.dagster_event
            if ev is None or not ev.step_key:
                continue
            s = steps.setdefault(ev.step_key, {})
            if ev.event_type_value == "STEP_START":
                s["start"], s["pid"] = record.timestamp, ev.pid
            elif ev.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
                s["end"], s["ok"] = record.timestamp, ev.event_type_value == "STEP_SUCCESS"
    waits: dict[int, list[float]] = {}
    with open(lock_log, "rb") as f:
        f.seek(offset)
        lines = f.read().decode().splitlines()
    for line in lines:
        d = orjson.loads(line)
        w = waits.setdefault(int(d["pid"]), [0.0, 0])
        w[0] += d["wait_s"]
        w[1] += d["waits"]
    first = min(s["start"] for s in steps.values())
    out_steps = {}
    by_pid = {s.get("pid"): k for k, s in steps.items()}
    for key, s in sorted(steps.items(), key=lambda kv: kv[1].get("start", 0)):
        dur = s.get("end", s["start"]) - s["start"]
        w = waits.get(s.get("pid"), [0.0, 0])
        out_steps[key] = {
            "ok": s.get("ok", False),
            "start_s": s["start"] - first,
            "duration_s": dur,
            "lock_wait_s": w[0],
            "lock_waits": w[1],
            "lock_wait_share": w[0] / dur if dur else 0.0,
            "peak_rss_mb": rss.peak.get(s.get("pid"), {}).get("rss", 0) / MB,
            "pid": s.get("pid"),
        }
    procs = sorted(
        (
            {
                "pid": pid,
                "step": by_pid.get(pid),
                "cmd": "bench (orchestrator)" if pid == os.getpid() else e["cmd"],
                "peak_rss_mb": e["rss"] / MB,
            }
            for pid, e in rss.peak.items()
        ),
        key=lambda r: -r["peak_rss_mb"],
    )
    total_dur = sum(s["duration_s"] for s in out_steps.values())
    total_wait = sum(s["lock_wait_s"] for s in out_steps.values())
    longest = max(out_steps.values(), key=lambda s: s["duration_s"])
    return {
        "success": result.success,
        "wall_s": wall,
        "steps": out_steps,
        "lock_wait_s": total_wait,
        "lock_wait_share_of_step_time": total_wait / total_dur if total_dur else 0.0,
        "lock_wait_share_longest_step": longest["lock_wait_share"],
        "processes": procs,
    }


def world_round(sb, args, assets: int, env_wh: dict[str, str], work: Path) -> dict[str, Any]:
    sb.reset(seed=args.seed, assets=assets)
    os.environ.update(env_wh)
    from connector.warehouse import Warehouse, backend_from

    Warehouse(
        backend_from(env_wh["CONNECTOR_WAREHOUSE"], env_wh), env_wh["CONNECTOR_LAKE"]
    ).migrate()
    try:
        from connector.warehouse import _ducklake

        _ducklake.close_all()
    except (ImportError, AttributeError):
        pass
    out: dict[str, Any] = {"assets": assets}
    for phase in ("full", "incremental"):
        if phase == "incremental":
            n = max(10, assets // 100)
            out["advance"] = sb.advance(
                args.advance_s, creates=n // 10, updates=n * 8 // 10, deletes=n // 10
            )
            out["advance"].pop("created_ids", None)
        sb.reset_stats()
        r = run_job(
            work / f"dagster_{phase}", Path(os.environ["BENCH_LOCK_LOG"]), args.max_concurrent
        )
        r["requests"] = sb.stats()["by_vendor"]
        out[phase] = r
        print_run(f"{assets:,} assets, {phase}", r)
        if not r["success"]:
            raise RuntimeError(f"the {phase} job failed at {assets:,} assets")
    return out


def print_run(label: str, r: dict[str, Any]) -> None:
    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    log(
        f"{label}: wall {r['wall_s']:.1f} s; lock waits {r['lock_wait_s']:.1f} s = "
        f"{100 * r['lock_wait_share_of_step_time']:.0f}% of step time "
        f"({100 * r['lock_wait_share_longest_step']:.0f}% of the longest step)"
    )
    for key, s in r["steps"].items():
        log(
            f"  {key:12} start {s['start_s']:6.1f} s  {s['duration_s']:7.1f} s  "
            f"lock wait {s['lock_wait_s']:6.1f} s ({s['lock_waits']} waits)  "
            f"peak RSS {s['peak_rss_mb']:5.0f} MB"
        )
    others = [p for p in r["processes"] if not p["step"]][:4]
    log("  other processes: " + "; ".join(f"{p['cmd']} {p['peak_rss_mb']:.0f} MB" for p in others))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--assets", type=int, default=2_000, help="the base world")
    p.add_argument("--scale", type=int, default=10, help="the second world: scale x assets")
    p.add_argument("--max-concurrent", type=int, default=4)
    p.add_argument("--advance-s", type=float, default=600.0)
    p.add_argument("--ducklake", action="store_true", help="the same on DuckLake too")
    p.add_argument("--ducklake-only", action="store_true", help="DuckLake, not the DuckDB file")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--keep", action="store_true")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()

    from sandbox.server import SandboxProcess

    work = Path(tempfile.mkdtemp(prefix="bench_all_sources_"))
    site = work / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    worlds = [args.assets] + ([args.assets * args.scale] if args.scale > 1 else [])
    out: dict[str, Any] = {
        "worlds": worlds,
        "max_concurrent": args.max_concurrent,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg_start": os.getloadavg(),
        },
        "duckdb": [],
    }
    saved = dict(os.environ)
    try:
        with SandboxProcess(seed=args.seed, assets=args.assets) as sb:
            os.environ.update({k: v for k, v in sb.env.items() if k.startswith(SOURCE_VARS)})
            os.environ["PYTHONPATH"] = os.pathsep.join(
                [str(site), str(ROOT), os.environ.get("PYTHONPATH", "")]
            )
            os.environ["BENCH_LOCK_LOG"] = str(work / "locks.log")
            os.environ["CONNECTOR_PROGRESS"] = "0"
            backends = [] if args.ducklake_only else [("duckdb", None)]
            servers = None
            if args.ducklake or args.ducklake_only:
                sys.path.insert(0, str(ROOT / "bench"))
                from tests.lake_servers import PostgresServer, S3Server, lake_env

                pg, s3 = PostgresServer().__enter__(), S3Server().__enter__()
                servers = (pg, s3)
                s3.create_bucket("bench-all-sources")
                backends.append(("ducklake", lake_env))
            try:
                for kind, make_env in backends:
                    out.setdefault(kind, [])
                    for assets in worlds:
                        name = f"{kind}_{assets}"
                        d = work / name
                        d.mkdir()
                        env_wh = {"CONNECTOR_LAKE": str(d / "lake")}
                        if make_env is None:
                            env_wh["CONNECTOR_WAREHOUSE"] = str(d / "warehouse.duckdb")
                        else:
                            db = servers[0].create_database(name)
                            env_wh |= make_env(
                                servers[0], servers[1], db, "bench-all-sources", name
                            )
                        print(f"{kind}: {assets:,}-asset world ...", file=sys.stderr, flush=True)
                        out[kind].append(world_round(sb, args, assets, env_wh, d))
            finally:
                if servers:
                    for s in servers:
                        s.__exit__(None, None, None)
    except Exception as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        if args.json:
            out["error"] = str(exc)[-2000:]
            print(orjson.dumps(out).decode())
        return 1
    finally:
        os.environ.clear()
        os.environ.update(saved)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    out["machine"]["loadavg_end"] = os.getloadavg()
    print_summary(out)
    if args.json:
        print(orjson.dumps(rounded(out)).decode())
    return 0


def print_summary(out: dict[str, Any]) -> None:
    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    log("")
    log(f"All four sources at once (multiprocess executor, max_concurrent {out['max_concurrent']})")
    hdr = f"{'backend':9} {'assets':>8} {'phase':12} {'wall s':>7} {'lock wait %':>12} {'max step RSS MB':>16}"
    log(hdr)
    log("-" * len(hdr))
    for kind in ("duckdb", "ducklake"):
        for w in out.get(kind) or []:
            for phase in ("full", "incremental"):
                r = w[phase]
                peak = max(s["peak_rss_mb"] for s in r["steps"].values())
                log(
                    f"{kind:9} {w['assets']:8,} {phase:12} {r['wall_s']:7.1f} "
                    f"{100 * r['lock_wait_share_of_step_time']:11.0f}% {peak:16.0f}"
                )
    log("(lock wait %: summed lock waits / summed step durations)")


if __name__ == "__main__":
    raise SystemExit(main())
