"""Warehouse backends benchmark: a DuckDB file vs DuckLake (catalog in PostgreSQL, data files
in S3; both servers started here on loopback from their Python packages, tests/lake_servers.py).

1. **Uplynk full sync** of ``--assets`` (default 1,000,000) into a fresh warehouse, once per
   backend: wall time and the writer's peak RSS (``os.wait4`` ``ru_maxrss``). The warehouse is
   created and migrated before the clock starts, so the figure is the sync alone.
2. **Sources at once**: for k = 1 .. ``--max-writers``, the first k of ``--sources`` (default
   uplynk, ibm, valt, iris) sync at the same moment, one process each, into one fresh
   warehouse of each backend, over a world of ``--world`` assets (default 2,000). Reported: the
   wall time until the last one finished, each writer's own elapsed time, the lock waits (DuckDB
   file: a writer waiting for another's file lock) and the commit conflicts (DuckLake: a
   transaction run again), and the speed-up against running the same k sources one after the
   other (the sum of their solo wall times, k = 1 rows of each source measured first).

The PostgreSQL server, moto and the sandbox share the machine with the writers (2 cores here),
so the DuckLake figures include the cost of its servers' CPU, as they would on one machine.

Usage: python bench/warehouse_backends.py [--assets N] [--world N] [--sources a,b,...]
       [--max-writers K] [--skip-full] [--seed S] [--json] [--workdir DIR] [--keep]
(--json: all figures as one JSON object on the last line of stdout.)
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from connector.warehouse import Warehouse, _ducklake, backend_from  # noqa: E402
from sandbox.server import SandboxProcess  # noqa: E402
from tests.lake_servers import PostgresServer, S3Server, lake_env  # noqa: E402

BUCKET = "bench-lake"


class Backends:
    """Fresh warehouses of each backend, with the variables that point a process at them."""

    def __init__(self, work: Path, pg: PostgresServer, s3: S3Server) -> None:
        self.work, self.pg, self.s3, self.n = work, pg, s3, 0

    def fresh(self, kind: str) -> dict[str, str]:
        self.n += 1
        name = f"{kind}{self.n}"
        env = {"CONNECTOR_LAKE": str(self.work / f"{name}-parquet")}
        if kind == "duckdb":
            env["CONNECTOR_WAREHOUSE"] = str(self.work / f"{name}.duckdb")
        else:
            db = self.pg.create_database(name)
            env |= lake_env(self.pg, self.s3, db, BUCKET, name)
        spec = backend_from(env["CONNECTOR_WAREHOUSE"], env)
        Warehouse(spec, env["CONNECTOR_LAKE"]).migrate()  # created before the clock starts
        _ducklake.close_all()
        return env


def spawn(source: str, env: dict[str, str], now_ms: int) -> subprocess.Popen:
    log = Path(env["CONNECTOR_LAKE"] + f"-{source}.log")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.lake_child", source, "--now-ms", str(now_ms)],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=log.open("wb"),
    )
    proc.log = log  # type: ignore[attr-defined]
    return proc


def reap(procs: list[subprocess.Popen], started: float) -> list[dict[str, Any]]:
    """Wait for every writer; each one's report, wall time and peak RSS."""
    results: dict[int, dict[str, Any]] = {}
    while len(results) < len(procs):
        pid, status, usage = os.wait4(-1, 0)
        for i, proc in enumerate(procs):
            if proc.pid == pid:
                out = proc.stdout.read() if proc.stdout else b""
                proc.returncode = os.waitstatus_to_exitcode(status)
                if proc.returncode != 0:
                    tail = proc.log.read_text(errors="replace")[-3000:]  # type: ignore[attr-defined]
                    raise SystemExit(f"writer {proc.args} failed (exit {proc.returncode}):\n{tail}")
                report = orjson.loads(out.splitlines()[-1])
                report["wall_s"] = round(time.monotonic() - started, 2)
                report["peak_rss_mb"] = round(usage.ru_maxrss / 1024)
                results[i] = report
    return [results[i] for i in range(len(procs))]


def at_once(backends: Backends, kind: str, sources: list[str], now_ms: int) -> dict[str, Any]:
    env = backends.fresh(kind)
    started = time.monotonic()
    writers = reap([spawn(s, env, now_ms) for s in sources], started)
    return {
        "backend": kind,
        "sources": sources,
        "wall_s": round(time.monotonic() - started, 2),
        "writers": writers,
        "lock_waits": sum(w["lock_waits"] for w in writers),
        "conflicts": sum(w["conflicts"] for w in writers),
    }


def full_sync(args, backends: Backends) -> list[dict[str, Any]]:
    rows = []
    with SandboxProcess(seed=args.seed, assets=args.assets) as sandbox:
        os.environ.update(sandbox.env)
        for kind in ("duckdb", "ducklake"):
            print(f"uplynk full sync, {args.assets:,} assets, {kind} ...", flush=True)
            run = at_once(backends, kind, ["uplynk"], sandbox.now_ms())
            writer = run["writers"][0]
            rows.append({"backend": kind, "assets": args.assets, "wall_s": run["wall_s"],
                         "peak_rss_mb": writer["peak_rss_mb"], "checkpoints": writer["checkpoints"]})  # fmt: skip
            print(f"  {run['wall_s']:.1f} s, peak RSS {writer['peak_rss_mb']} MB", flush=True)
    return rows


def many_writers(args, backends: Backends) -> list[dict[str, Any]]:
    sources = args.sources.split(",")
    rows = []
    with SandboxProcess(seed=args.seed, assets=args.world) as sandbox:
        os.environ.update(sandbox.env)
        for kind in ("duckdb", "ducklake"):
            solo = {}
            for source in sources:  # k = 1 for each source: the sequential baseline
                sandbox.reset(seed=args.seed, assets=args.world)
                solo[source] = at_once(backends, kind, [source], sandbox.now_ms())["wall_s"]
            for k in range(1, min(args.max_writers, len(sources)) + 1):
                sandbox.reset(seed=args.seed, assets=args.world)
                run = at_once(backends, kind, sources[:k], sandbox.now_ms())
                run["sequential_s"] = round(sum(solo[s] for s in sources[:k]), 2)
                run["speedup"] = round(run["sequential_s"] / run["wall_s"], 2)
                rows.append(run)
                print(f"{kind:<9} k={k} {'+'.join(sources[:k]):<24} {run['wall_s']:6.1f} s "
                      f"(one after the other {run['sequential_s']:6.1f} s, x{run['speedup']}) "
                      f"lock waits {run['lock_waits']}, conflicts {run['conflicts']}", flush=True)  # fmt: skip
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--assets", type=int, default=1_000_000)
    parser.add_argument("--world", type=int, default=2_000)
    parser.add_argument("--sources", default="uplynk,ibm,valt,iris")
    parser.add_argument("--max-writers", type=int, default=4)
    parser.add_argument("--skip-full", action="store_true")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--workdir")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench-backends-"))
    work.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()}
    }
    try:
        with PostgresServer() as pg, S3Server() as s3:
            s3.create_bucket(BUCKET)
            backends = Backends(work, pg, s3)
            if not args.skip_full:
                result["full_sync"] = full_sync(args, backends)
            result["many_writers"] = many_writers(args, backends)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(orjson.dumps(result).decode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
