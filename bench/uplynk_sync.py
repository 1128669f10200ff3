"""Uplynk sync benchmark: the connector's full and incremental sync against dlt's rest_api.

One sandbox (``--assets N``, default 1,000,000) serves every phase; each phase runs as its own
child process so its wall time, CPU time and peak RSS (``os.wait4`` rusage ``ru_maxrss``) are
its own:

1. connector full sync: ``python -m connector sync uplynk`` into a fresh warehouse + lake
   (first run: change-feed walk, then a full ``/api2/asset/list`` reconciliation);
2. ``/_control/advance`` by 600 s with 1,000 changes (default 100 creates, 800 updates,
   100 deletes), then the connector's incremental sync on the same warehouse;
3. dlt: a ``dlt.sources.rest_api`` pipeline over the same ``/api2/asset/list`` into DuckDB
   (offset pagination skip/limit=100 until a short page, data selector ``assets``,
   primary key ``id``, merge, ``loader_file_format="parquet"``, ``max_table_nesting=0``:
   its best configuration per DESIGN.md). ``--dlt-default-nesting`` adds a second dlt run
   with dlt's default nesting (child tables for lists, flattened dicts);
4. ``--profile``: one more connector full sync (fresh warehouse), then an incremental one,
   under ``py-spy record --idle --threads``; prints per thread (event loop / writer pool) the
   hottest functions and lines in % of wall time, and keeps the raw stacks in the work dir.

``--repeat R`` runs R connector rounds (full + incremental, fresh warehouse each) and reports
the median; before each timed phase the script waits (``--quiet-wait``, default 120 s) for the
machine to go idle, and reports the CPU other processes used during the phase.

Uplynk signs every parameter inside ``msg``, so the dlt side uses a requests ``AuthBase``
that moves the query string (skip, limit, order) into a freshly signed ``msg``/``sig``.

Request counts come from the sandbox's ``/_control/stats`` (reset before each phase).
Sandbox CPU seconds per phase are reported too: the sandbox shares this 2-core machine, so
``client CPU + sandbox CPU`` close to ``2 x wall`` means the machine, not the client, is the
limit.

Targets (printed as PASS/MISS; the exit code is non-zero only on errors):
  * connector full sync >= 3x dlt's speed (same catalog, wall time) and lower peak RSS;
  * incremental sync < 5% of the full sync's time;
  * connector peak RSS < 1 GB (checked at the catalog size of this run).

Usage: python bench/uplynk_sync.py [--assets N] [--seed S] [--json] [--profile] [--repeat R]
       [--skip-dlt] [--dlt-default-nesting] [--creates C --updates U --deletes D]
       [--connector-args "--concurrency 16"] [--quiet-wait S] [--keep] [--workdir DIR]
(--json: all figures as one JSON object on the last line of stdout.)
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MB = 1024 * 1024
LIST_LIMIT = 100


# ---------------------------------------------------------------------------------------
# child processes
# ---------------------------------------------------------------------------------------


QUIET_WAIT_S = 0.0  # set from --quiet-wait


def wait_quiet(max_wait: float, threshold: float = 0.25) -> float | None:
    """Wait (up to ``max_wait`` s) until the machine is idle: busy < ``threshold`` of all CPUs
    over one second. Returns the busy share seen last (None when not checked)."""
    if max_wait <= 0:
        return None
    import psutil

    deadline = time.monotonic() + max_wait
    while True:
        busy = psutil.cpu_percent(interval=1.0) / 100
        if busy < threshold or time.monotonic() >= deadline:
            return busy


def run_child(
    cmd: list[str], env: dict[str, str], log_prefix: Path, sandbox_proc=None
) -> dict[str, Any]:
    """Run ``cmd``; return wall/CPU seconds, peak RSS (this child only), exit code, stdout."""
    busy_before = wait_quiet(QUIET_WAIT_S)
    out_path = log_prefix.with_suffix(".stdout")
    err_path = log_prefix.with_suffix(".stderr")
    import psutil

    sb_cpu0 = _cpu(sandbox_proc)
    sys0 = psutil.cpu_times()
    with open(out_path, "wb") as fo, open(err_path, "wb") as fe:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=str(ROOT), stdout=fo, stderr=fe)
        timeline: list[tuple[float, int]] = []
        stop = threading.Event()
        sampler = threading.Thread(
            target=_sample_rss, args=(proc.pid, t0, timeline, stop), daemon=True
        )
        sampler.start()
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        stop.set()
        sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4 above
    sb_cpu1 = _cpu(sandbox_proc)
    sys1 = psutil.cpu_times()
    busy = _busy(sys1) - _busy(sys0)
    stdout = out_path.read_text(errors="replace")
    result = {
        "wall_s": wall,
        "cpu_s": ru.ru_utime + ru.ru_stime,
        "peak_rss_mb": ru.ru_maxrss * 1024 / MB,  # Linux: kilobytes
        "exit_code": proc.returncode,
        "sandbox_cpu_s": None if sb_cpu0 is None else sb_cpu1 - sb_cpu0,
        "rss_timeline": _rss_summary(timeline, wall),
        # machine-wide busy CPU minus this child and the sandbox: other load during the phase
        "other_cpu_s": busy
        - (ru.ru_utime + ru.ru_stime)
        - (0 if sb_cpu0 is None else sb_cpu1 - sb_cpu0),
        "loadavg_1m_after": os.getloadavg()[0],
        "machine_busy_before": busy_before,
        "stdout_path": str(out_path),
        "stderr_path": str(err_path),
        "last_json": _last_json(stdout),
    }
    if proc.returncode != 0:
        tail = err_path.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{shlex.join(cmd[:4])} ... exited {proc.returncode}:\n{tail}")
    return result


def _sample_rss(pid: int, t0: float, out: list[tuple[float, int]], stop: threading.Event) -> None:
    """RSS of ``pid`` every 0.2 s (a cross-check of ru_maxrss, and the shape over time)."""
    import psutil

    try:
        p = psutil.Process(pid)
        while not stop.is_set():
            rss = p.memory_info().rss
            if stop.is_set():
                break
            out.append((time.perf_counter() - t0, rss))
            stop.wait(0.2)
    except psutil.Error:
        pass


def _rss_summary(timeline: list[tuple[float, int]], wall: float) -> dict[str, Any]:
    """Max RSS per quarter of the run: flat memory shows the same figure in every late quarter,
    a catalog held in memory grows quarter after quarter."""
    if not timeline:
        return {}
    quarters = [0, 0, 0, 0]
    for t, rss in timeline:
        q = min(3, int(4 * t / wall)) if wall else 3
        quarters[q] = max(quarters[q], rss)
    return {
        "max_mb_by_quarter": [round(q / MB) for q in quarters],
        "sampled_peak_mb": round(max(r for _, r in timeline) / MB),
        "samples": len(timeline),
    }


def _busy(t) -> float:
    return t.user + t.nice + t.system + t.irq + t.softirq + getattr(t, "steal", 0.0)


def _cpu(proc) -> float | None:
    if proc is None:
        return None
    t = proc.cpu_times()
    return t.user + t.system


def _last_json(text: str) -> dict[str, Any] | None:
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return orjson.loads(line)
            except orjson.JSONDecodeError:
                return None
    return None


def connector_env(sb, warehouse: Path, lake: Path) -> dict[str, str]:
    env = {**os.environ}
    env.update({k: v for k, v in sb.env.items() if k.startswith("UPLYNK_")})
    env["CONNECTOR_WAREHOUSE"] = str(warehouse)
    env["CONNECTOR_LAKE"] = str(lake)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def connector_cmd(extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "connector", "sync", "uplynk", *extra]


def count_connector_rows(warehouse: Path) -> dict[str, int]:
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        total, live = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE deleted_at IS NULL) FROM raw.uplynk_assets"
        ).fetchone()
        changes = con.execute("SELECT count(*) FROM raw.uplynk_changes").fetchone()[0]
    finally:
        con.close()
    return {"rows": int(total), "live_rows": int(live), "change_rows": int(changes)}


def du_mb(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / MB
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / MB


def request_counts(sb) -> dict[str, Any]:
    snap = sb.stats()
    by_path = Counter()
    for r in snap["requests"]:
        if r["vendor"] == "uplynk":
            by_path[r["path"].rsplit("/", 1)[-1]] += r["count"]
    return {
        "requests": int(snap.get("by_vendor", {}).get("uplynk", 0)),
        "by_endpoint": dict(by_path),
    }


# ---------------------------------------------------------------------------------------
# the dlt side (runs in its own process: ``uplynk_sync.py --dlt-child ...``)
# ---------------------------------------------------------------------------------------


def _dlt_child(args: argparse.Namespace) -> int:
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    from urllib.parse import parse_qsl, urlsplit, urlunsplit

    import dlt
    from dlt.common.configuration import configspec
    from dlt.sources.helpers.rest_client.auth import AuthConfigBase
    from dlt.sources.helpers.rest_client.paginators import OffsetPaginator
    from dlt.sources.rest_api import rest_api_source

    from connector.uplynk.signing import sign_params

    @configspec
    class UplynkSignedAuth(AuthConfigBase):
        """Uplynk api2 signing: every query parameter goes inside the signed ``msg``."""

        owner: str = None
        api_key: str = None

        def __call__(self, request):
            parts = urlsplit(request.url)
            params: dict[str, Any] = {}
            for k, v in parse_qsl(parts.query, keep_blank_values=True):
                params[k] = int(v) if v.lstrip("-").isdigit() else v
            signed = sign_params(params, owner=self.owner, api_key=self.api_key)
            request.prepare_url(urlunsplit(parts._replace(query="")), signed)
            return request

    class ShortPageOffsetPaginator(OffsetPaginator):
        """Offset pagination that stops on a short page (asset/list has no total)."""

        def _stop_after_this_page(self, data=None) -> bool:
            return not data or len(data) < self.limit

    nesting = None if args.dlt_nesting == "default" else int(args.dlt_nesting)
    workdir = Path(args.dlt_workdir)
    db_path = workdir / "dlt.duckdb"
    config = {
        "client": {
            "base_url": os.environ["UPLYNK_BASE_URL"].rstrip("/") + "/",
            "auth": UplynkSignedAuth(
                owner=os.environ["UPLYNK_OWNER"], api_key=os.environ["UPLYNK_API_KEY"]
            ),
            "paginator": ShortPageOffsetPaginator(
                limit=LIST_LIMIT, offset_param="skip", limit_param="limit", total_path=None
            ),
        },
        "resources": [
            {
                "name": "uplynk_assets",
                "primary_key": "id",
                "write_disposition": "merge",
                "endpoint": {
                    "path": "api2/asset/list",
                    "method": "GET",
                    "params": {"order": "created"},
                    "data_selector": "assets",
                },
            }
        ],
    }
    pipeline = dlt.pipeline(
        pipeline_name="bench_uplynk_dlt",
        pipelines_dir=str(workdir / "pipelines"),
        destination=dlt.destinations.duckdb(str(db_path)),
        dataset_name="dlt_raw",
        progress=None,
    )
    source = rest_api_source(config, name="uplynk", max_table_nesting=nesting)
    t0 = time.perf_counter()
    pipeline.extract(source, loader_file_format="parquet")
    t1 = time.perf_counter()
    pipeline.normalize()
    t2 = time.perf_counter()
    pipeline.load()
    t3 = time.perf_counter()

    import duckdb

    con = duckdb.connect(str(db_path), read_only=True)
    try:
        rows = con.execute("SELECT count(*) FROM dlt_raw.uplynk_assets").fetchone()[0]
        tables = {
            name: int(con.execute(f'SELECT count(*) FROM dlt_raw."{name}"').fetchone()[0])
            for (name,) in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'dlt_raw' "
                "AND table_name NOT LIKE '\\_dlt%' ESCAPE '\\' ORDER BY 1"
            ).fetchall()
        }
    finally:
        con.close()
    print(
        orjson.dumps(
            {
                "rows": int(rows),
                "tables": tables,
                "extract_s": round(t1 - t0, 3),
                "normalize_s": round(t2 - t1, 3),
                "load_s": round(t3 - t2, 3),
                "db_mb": round(du_mb(db_path), 1),
                "dlt_version": dlt.__version__,
            }
        ).decode()
    )
    return 0


def dlt_config_text(nesting: str) -> str:
    n = (
        "max_table_nesting=0 (lists/dicts kept as JSON)"
        if nesting == "0"
        else "default nesting (child tables)"
    )
    return (
        "dlt.sources.rest_api GET /api2/asset/list, signed-msg AuthBase, offset paginator "
        f"skip/limit={LIST_LIMIT} until a short page, data_selector=assets, primary_key=id, "
        f"write_disposition=merge, loader_file_format=parquet, {n}, destination=duckdb, "
        "normalize workers=1 (default)"
    )


def run_dlt(sb, workdir: Path, nesting: str, sandbox_proc) -> dict[str, Any]:
    workdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ}
    env.update({k: v for k, v in sb.env.items() if k.startswith("UPLYNK_")})
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    sb.reset_stats()
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--dlt-child",
        "--dlt-workdir",
        str(workdir),
        "--dlt-nesting",
        nesting,
    ]
    res = run_child(cmd, env, workdir / "dlt", sandbox_proc)
    res.update(request_counts(sb))
    info = res.pop("last_json") or {}
    res.update(info)
    res["config"] = dlt_config_text(nesting)
    res["max_table_nesting"] = 0 if nesting == "0" else "default"
    return res


# ---------------------------------------------------------------------------------------
# profile (py-spy)
# ---------------------------------------------------------------------------------------


def _frame_name(frame: str, keep_line: bool = False) -> str:
    """'func (/abs/site-packages/pkg/module.py:123)' -> 'func (pkg/module.py)' (or with ':123')."""
    if " (" in frame and frame.endswith(")"):
        func, loc = frame[:-1].split(" (", 1)
        path, _, line = loc.rpartition(":")
        if not path:
            path, line = loc, ""
        for marker in ("site-packages/", "/lib/python3"):
            if marker in path:
                path = path.split(marker, 1)[1]
                break
        else:
            if path.startswith(str(ROOT)):
                path = os.path.relpath(path, ROOT)
        return f"{func} ({path}:{line})" if keep_line and line else f"{func} ({path})"
    return frame


def _area(frame: str) -> str:
    name = _frame_name(frame)
    loc = name[name.find("(") + 1 : -1] if "(" in name else name
    top = loc.split("/", 1)[0]
    if top in ("connector",):
        return "/".join(loc.split("/")[:2]).removesuffix(".py")
    if top.endswith(".py") or top.startswith(("asyncio", "python3", ".")) or "/" not in loc:
        return "stdlib/other"
    return top


_IDLE_LEAVES = (
    "_worker (concurrent/futures/thread.py",  # a pool thread waiting for work
    "Condition.wait (threading.py",
    "Event.wait (threading.py",
    "_wait_for_tstate_lock (threading.py",
)


def _is_idle(name: str) -> bool:
    func, _, loc = name.partition(" (")
    if loc.startswith("selectors.py"):
        return func.endswith("select")
    return name.startswith(_IDLE_LEAVES)


def _leaf_area(names: list[str]) -> str:
    leaf = names[-1]
    if _is_idle(leaf):
        return "idle (waiting)"
    if any("importlib._bootstrap" in n for n in names):
        return "imports"
    return _area(leaf)


def summarize_profile(raw_path: Path, top: int = 15) -> dict[str, Any]:
    """Per-thread summary of py-spy raw stacks recorded with --threads --idle (every thread is
    sampled every tick, so a thread's samples / rate = wall time)."""
    threads: dict[str, dict[str, Counter[str]]] = {}
    names_by_tid: dict[str, str] = {}
    stacks: list[tuple[str, list[str], int]] = []
    for line in raw_path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        parts = stack.split(";")
        tid = "?"
        if parts and parts[0].startswith("thread ("):
            head = parts.pop(0)
            tid = head[len("thread (") : head.index(")")]
            if ": " in head:
                names_by_tid[tid] = head.split(": ", 1)[1]
        frames = [f for f in parts if f and not f.startswith("process ")]
        if frames:
            stacks.append(
                (tid, [_frame_name(f) for f in frames], int(count), _frame_name(frames[-1], True))
            )
    for tid, names, n, leaf_line in stacks:
        tname = names_by_tid.get(tid)
        key = "main" if tname == "MainThread" else (tname or "unnamed short-lived threads")
        t = threads.setdefault(
            key,
            {
                "self": Counter(),
                "line": Counter(),
                "area": Counter(),
                "incl": Counter(),
                "n": Counter(),
            },
        )
        t["n"]["samples"] += n
        t["self"][names[-1]] += n
        area = _leaf_area(names)
        t["area"][area] += n
        if area != "idle (waiting)":
            t["n"]["busy"] += n
            t["line"][leaf_line] += n
            for name in set(names):
                if name.split(" (", 1)[-1].startswith("connector/"):
                    t["incl"][name] += n
    main_n = threads.get("main", {}).get("n", Counter())["samples"] or 1
    out: dict[str, Any] = {"main_thread_samples": main_n, "threads": {}}
    for key, t in threads.items():

        def pct(c: Counter[str], k: int, _t=t) -> list[dict[str, Any]]:
            return [
                {"function": f, "pct_of_wall": round(100 * v / main_n, 1), "samples": v}
                for f, v in c.most_common(k)
            ]

        busy_self = Counter({f: v for f, v in t["self"].items() if not _is_idle(f)})
        out["threads"][key] = {
            "samples": t["n"]["samples"],
            "busy_pct_of_wall": round(100 * t["n"]["busy"] / main_n, 1),
            "by_area": pct(t["area"], 12),
            "self_top": pct(busy_self, top),
            "self_top_lines": pct(t["line"], top),
            "connector_inclusive_top": pct(t["incl"], top),
        }
    return out


def run_profile(
    sb, workdir: Path, extra: list[str], rate: int, changes: dict[str, int] | None = None
) -> dict[str, Any]:
    """py-spy record a connector full sync into a fresh warehouse; with ``changes``, then
    advance the sandbox and record the incremental sync on that warehouse too."""
    pyspy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(pyspy).exists():
        return {"error": "py-spy not installed (pip install py-spy into the venv)"}
    workdir.mkdir(parents=True, exist_ok=True)
    env = connector_env(sb, workdir / "warehouse.duckdb", workdir / "lake")
    note = (
        "py-spy --idle --threads: every thread sampled every tick; % = share of the main thread's "
        "samples (= wall time), per thread (asyncio_N = the loop's default executor); 'idle' = event "
        "loop in select / pool thread waiting for work; native "
        "DuckDB/Arrow/orjson time shows as its Python caller"
    )

    def record(name: str) -> dict[str, Any]:
        raw = workdir / f"connector_{name}.pyspy.txt"
        cmd = [
            pyspy,
            "record",
            "--format",
            "raw",
            "--rate",
            str(rate),
            "--nonblocking",
            "--idle",
            "--threads",
            "-o",
            str(raw),
            "--",
            *connector_cmd(extra),
        ]
        res = run_child(cmd, env, workdir / f"pyspy_{name}", None)
        summary = summarize_profile(raw)
        summary.update(
            {"wall_s": res["wall_s"], "raw_stacks": str(raw), "rate_hz": rate, "note": note}
        )
        return summary

    out = record("full")
    if changes:
        sb.advance(600, **changes)
        out["incremental"] = record("incremental")
    return out


# ---------------------------------------------------------------------------------------
# the run
# ---------------------------------------------------------------------------------------


def run_connector_phase(
    sb, warehouse: Path, lake: Path, extra: list[str], log_prefix: Path, sandbox_proc
) -> dict[str, Any]:
    sb.reset_stats()
    res = run_child(
        connector_cmd(extra), connector_env(sb, warehouse, lake), log_prefix, sandbox_proc
    )
    res.update(request_counts(sb))
    report = res.pop("last_json") or {}
    res["report"] = {
        k: report.get(k)
        for k in (
            "inserted",
            "updated",
            "unchanged",
            "deleted",
            "rejected",
            "changes",
            "feed_pages",
            "list_pages",
            "assets_fetched",
            "checkpoints",
            "reconciled",
            "requests",
            "retries",
            "elapsed_s",
        )
    }
    res["sync_elapsed_s"] = report.get("elapsed_s")
    res.update(count_connector_rows(warehouse))
    return res


def connector_round(
    sb, conn_dir: Path, extra: list[str], args, sandbox_proc, log
) -> tuple[dict, dict]:
    """A full sync into a fresh warehouse, then ``advance`` and the incremental sync on it."""
    conn_dir.mkdir(parents=True, exist_ok=True)
    wh, lake = conn_dir / "warehouse.duckdb", conn_dir / "lake"
    log("connector full sync ...")
    full = run_connector_phase(sb, wh, lake, extra, conn_dir / "full", sandbox_proc)
    _rates(full)
    full["warehouse_mb"] = round(du_mb(wh), 1)
    full["lake_mb"] = round(du_mb(lake), 1)
    log(f"  {full['wall_s']:.1f} s, {full['rows']:,} rows, peak RSS {full['peak_rss_mb']:.0f} MB")

    adv = sb.advance(
        args.advance_seconds, creates=args.creates, updates=args.updates, deletes=args.deletes
    )
    n_changes = args.creates + args.updates + args.deletes
    log(
        f"connector incremental sync ({n_changes:,} changes: {args.creates} creates, "
        f"{args.updates} updates, {args.deletes} deletes) ..."
    )
    inc = run_connector_phase(sb, wh, lake, extra, conn_dir / "incremental", sandbox_proc)
    inc["changes_made"] = n_changes
    inc["advance"] = {k: v for k, v in adv.items() if not isinstance(v, list)}
    inc["table_rows"] = inc["rows"]
    rep = inc["report"]
    inc["rows"] = sum(rep.get(k) or 0 for k in ("inserted", "updated", "deleted"))  # rows written
    _rates(inc)
    inc["share_of_full_wall_pct"] = 100 * inc["wall_s"] / full["wall_s"]
    if inc.get("sync_elapsed_s") and full.get("sync_elapsed_s"):
        inc["share_of_full_elapsed_pct"] = 100 * inc["sync_elapsed_s"] / full["sync_elapsed_s"]
    log(f"  {inc['wall_s']:.2f} s ({inc['share_of_full_wall_pct']:.1f}% of full)")
    return full, inc


def _rates(res: dict[str, Any], rows_key: str = "rows") -> None:
    res["rows_per_s"] = res[rows_key] / res["wall_s"] if res["wall_s"] else None
    res["requests_per_s"] = res["requests"] / res["wall_s"] if res["wall_s"] else None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--assets", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument(
        "--json", action="store_true", help="print all figures as one JSON object, last line"
    )
    p.add_argument("--creates", type=int, default=100)
    p.add_argument("--updates", type=int, default=800)
    p.add_argument("--deletes", type=int, default=100)
    p.add_argument("--advance-seconds", type=float, default=600.0)
    p.add_argument(
        "--connector-args", default="", help="extra CLI args for `python -m connector sync uplynk`"
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="connector rounds (full + incremental, fresh warehouse each); the median full-sync round is reported",
    )
    p.add_argument(
        "--quiet-wait",
        type=float,
        default=120.0,
        help="before each timed phase wait up to this many seconds for the machine to go idle "
        "(other benchmarks share these 2 cores); 0 = don't wait",
    )
    p.add_argument("--skip-dlt", action="store_true")
    p.add_argument(
        "--dlt-default-nesting", action="store_true", help="also run dlt with its default nesting"
    )
    p.add_argument(
        "--profile", action="store_true", help="also profile a connector full sync with py-spy"
    )
    p.add_argument("--profile-rate", type=int, default=100)
    p.add_argument(
        "--workdir", default=None, help="where warehouses, lakes and logs go (default: a temp dir)"
    )
    p.add_argument("--keep", action="store_true", help="keep the work dir")
    # internal: the dlt child process
    p.add_argument("--dlt-child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--dlt-workdir", help=argparse.SUPPRESS)
    p.add_argument("--dlt-nesting", default="0", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.dlt_child:
        return _dlt_child(args)

    import psutil

    from sandbox.server import SandboxProcess

    global QUIET_WAIT_S
    QUIET_WAIT_S = args.quiet_wait

    extra = shlex.split(args.connector_args)
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="bench_uplynk_"))
    work.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {
        "bench": "uplynk_sync",
        "assets": args.assets,
        "seed": args.seed,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "connector_cmd": shlex.join(["python", "-m", "connector", "sync", "uplynk", *extra]),
        "workdir": str(work),
    }
    log = (
        (lambda *a: print(*a, file=sys.stderr, flush=True))
        if args.json
        else (lambda *a: print(*a, flush=True))
    )
    try:
        t = time.perf_counter()
        with SandboxProcess(seed=args.seed, assets=args.assets, startup_timeout=1800) as sb:
            sandbox_proc = psutil.Process(sb.pid)
            world = sb.world()
            out["sandbox"] = {
                "start_s": round(time.perf_counter() - t, 1),
                "live_assets": world["live"],
                "rss_mb": round(sandbox_proc.memory_info().rss / MB),
            }
            log(
                f"sandbox up in {out['sandbox']['start_s']} s: {world['live']:,} live assets "
                f"({world['assets']:,} generated), RSS {out['sandbox']['rss_mb']} MB"
            )
            _warm_sandbox(sb)

            rounds = []
            for i in range(args.repeat):
                conn_dir = work / ("connector" if args.repeat == 1 else f"connector_{i + 1}")
                rounds.append(connector_round(sb, conn_dir, extra, args, sandbox_proc, log))
            # the round with the median full-sync wall time stands for the run; all are kept
            rounds.sort(key=lambda r: r[0]["wall_s"])
            full, inc = rounds[(len(rounds) - 1) // 2]
            if args.repeat > 1:
                for r, key in ((full, 0), (inc, 1)):
                    r["wall_s_all_rounds"] = sorted(round(x[key]["wall_s"], 2) for x in rounds)
                    r["peak_rss_mb_max_all_rounds"] = max(x[key]["peak_rss_mb"] for x in rounds)
            out["connector_full"], out["connector_incremental"] = full, inc

            if not args.skip_dlt:
                nestings = ["0"] + (["default"] if args.dlt_default_nesting else [])
                for nesting in nestings:
                    key = "dlt" if nesting == "0" else "dlt_default_nesting"
                    log(
                        f"dlt rest_api full load ({'max_table_nesting=0' if nesting == '0' else 'default nesting'}) ..."
                    )
                    d = run_dlt(sb, work / key, nesting, sandbox_proc)
                    _rates(d)
                    out[key] = d
                    log(
                        f"  {d['wall_s']:.1f} s, {d['rows']:,} rows, peak RSS {d['peak_rss_mb']:.0f} MB"
                    )

            if args.profile:
                log("profiling a connector full sync with py-spy ...")
                out["profile"] = run_profile(
                    sb,
                    work / "profile",
                    extra,
                    args.profile_rate,
                    {"creates": args.creates, "updates": args.updates, "deletes": args.deletes},
                )
            out["sandbox"]["rss_mb_end"] = round(sandbox_proc.memory_info().rss / MB)
    except Exception as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        if args.json:
            out["error"] = str(exc)[-2000:]
            print(orjson.dumps(out, option=orjson.OPT_SERIALIZE_NUMPY).decode())
        return 1
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(work, ignore_errors=True)

    out["targets"] = evaluate_targets(out)
    print_table(out, log)
    if args.json:
        print(orjson.dumps(_rounded(out)).decode())
    return 0


def _warm_sandbox(sb) -> None:
    """One list and one changes call, so lazily built server-side orderings are not charged
    to whichever phase runs first."""
    import httpx

    from connector.uplynk.signing import sign_params

    base, owner, key = sb.env["UPLYNK_BASE_URL"], sb.env["UPLYNK_OWNER"], sb.env["UPLYNK_API_KEY"]
    with httpx.Client(timeout=600) as c:
        c.get(
            f"{base}/api2/asset/list",
            params=sign_params({"skip": 0, "limit": 1}, owner=owner, api_key=key),
        )
        c.get(
            f"{base}/api2/asset/changes",
            params=sign_params({"start": sb.now_ms()}, owner=owner, api_key=key),
        )


def evaluate_targets(out: dict[str, Any]) -> list[dict[str, Any]]:
    full, inc, d = out["connector_full"], out["connector_incremental"], out.get("dlt")
    t: list[dict[str, Any]] = []
    if d:
        speed = d["wall_s"] / full["wall_s"]
        t.append(
            {
                "target": "full sync >= 3x dlt speed (same catalog, wall time)",
                "value": round(speed, 2),
                "pass": speed >= 3.0,
            }
        )
        t.append(
            {
                "target": "full sync peak RSS < dlt peak RSS",
                "value": f"{full['peak_rss_mb']:.0f} MB vs {d['peak_rss_mb']:.0f} MB",
                "pass": full["peak_rss_mb"] < d["peak_rss_mb"],
            }
        )
    t.append(
        {
            "target": "incremental < 5% of full (process wall time)",
            "value": f"{inc['share_of_full_wall_pct']:.1f}%",
            "pass": inc["share_of_full_wall_pct"] < 5.0,
        }
    )
    if "share_of_full_elapsed_pct" in inc:
        t.append(
            {
                "target": "incremental < 5% of full (sync's own elapsed_s, no interpreter start)",
                "value": f"{inc['share_of_full_elapsed_pct']:.1f}%",
                "pass": inc["share_of_full_elapsed_pct"] < 5.0,
            }
        )
    peak = max(full["peak_rss_mb"], inc["peak_rss_mb"])
    t.append(
        {
            "target": f"connector peak RSS < 1 GB (at {out['assets']:,} assets)",
            "value": f"{peak:.0f} MB",
            "pass": peak < 1024,
        }
    )
    return t


def print_table(out: dict[str, Any], log) -> None:
    full, inc = out["connector_full"], out["connector_incremental"]
    rows = [("connector full", full), ("connector incremental", inc)]
    for key, label in (
        ("dlt", "dlt rest_api (nesting=0)"),
        ("dlt_default_nesting", "dlt rest_api (default nesting)"),
    ):
        if key in out:
            rows.append((label, out[key]))
    log("")
    log(
        f"Uplynk sync benchmark: {out['assets']:,} assets (seed {out['seed']}), "
        f"{out['machine']['cpus']} CPUs, sandbox on the same machine"
    )
    hdr = f"{'run':32} {'seconds':>8} {'rows':>10} {'rows/s':>9} {'requests':>9} {'req/s':>7} {'peak RSS MB':>12} {'CPU s':>7} {'sandbox CPU s':>14} {'other CPU s':>12}"
    log(hdr)
    log("-" * len(hdr))
    for label, r in rows:
        log(
            f"{label:32} {r['wall_s']:8.2f} {r['rows']:10,} {r['rows_per_s']:9,.0f} {r['requests']:9,} "
            f"{r['requests_per_s']:7,.0f} {r['peak_rss_mb']:12,.0f} {r['cpu_s']:7.1f} {r['sandbox_cpu_s'] or 0:14.1f} {r['other_cpu_s']:12.1f}"
        )
    log(
        "(CPU s: the child's own user+sys; sandbox CPU s: the sandbox process; other CPU s: the rest of "
        "the machine during the phase - anything well above 0 means the figures were taken under load)"
    )
    log("")
    for label, r in rows:
        if r.get("wall_s_all_rounds"):
            log(
                f"{label}: wall s over {len(r['wall_s_all_rounds'])} rounds {r['wall_s_all_rounds']} (median shown)"
            )
    for label, r in rows:
        q = r.get("rss_timeline", {}).get("max_mb_by_quarter")
        if q:
            log(f"RSS by quarter of the run, {label}: {q} MB")
    log(
        f"connector full: {full['live_rows']:,} live + {full['rows'] - full['live_rows']:,} tombstones; "
        f"sync elapsed {full['sync_elapsed_s']} s (process wall {full['wall_s']:.2f} s); "
        f"requests by endpoint {full['by_endpoint']}; lake {full['lake_mb']} MB, warehouse {full['warehouse_mb']} MB"
    )
    rep = inc["report"]
    log(
        f"incremental (rows = rows written): {inc['changes_made']:,} changes -> inserted {rep['inserted']}, updated {rep['updated']}, "
        f"deleted {rep['deleted']}, unchanged {rep['unchanged']}; {inc['wall_s']:.2f} s wall "
        f"({inc['share_of_full_wall_pct']:.1f}% of full), sync elapsed {inc['sync_elapsed_s']} s "
        f"({inc.get('share_of_full_elapsed_pct', float('nan')):.1f}% of full's); requests {inc['by_endpoint']}"
    )
    if "dlt" in out:
        d = out["dlt"]
        log(f"dlt config: {d['config']}")
        log(
            f"dlt phases: extract {d['extract_s']} s, normalize {d['normalize_s']} s, load {d['load_s']} s; "
            f"dlt {d.get('dlt_version')}"
        )
        log(
            f"ratio connector speed / dlt speed: {d['wall_s'] / full['wall_s']:.2f}x (wall time, same catalog); "
            f"rows/s ratio {full['rows_per_s'] / d['rows_per_s']:.2f}x; "
            f"peak RSS {full['peak_rss_mb']:.0f} MB vs {d['peak_rss_mb']:.0f} MB"
        )
    if "dlt_default_nesting" in out:
        d2 = out["dlt_default_nesting"]
        log(
            f"dlt default nesting: {d2['wall_s']:.1f} s, peak {d2['peak_rss_mb']:.0f} MB, tables {d2.get('tables')}"
        )
    prof = out.get("profile")
    if prof and "threads" in prof:
        log("")
        log(
            f"py-spy profile of a connector full sync ({prof['wall_s']:.1f} s wall under py-spy, {prof['rate_hz']} Hz)"
        )
        log(f"  {prof['note']}; raw stacks: {prof['raw_stacks']}")
        for key, t in _threads_to_show(prof):
            log(
                f"  thread {key}: busy {t['busy_pct_of_wall']}% of wall; by area: "
                + ", ".join(f"{e['function']} {e['pct_of_wall']}%" for e in t["by_area"][:8])
            )
            log("    top self (busy) time:")
            for e in t["self_top"][:12]:
                log(f"      {e['pct_of_wall']:5.1f}%  {e['function']}")
            log("    hottest lines (busy self time):")
            for e in t["self_top_lines"][:8]:
                log(f"      {e['pct_of_wall']:5.1f}%  {e['function']}")
            log("    connector functions, inclusive (busy) time:")
            for e in t["connector_inclusive_top"][:12]:
                log(f"      {e['pct_of_wall']:5.1f}%  {e['function']}")
        inc = prof.get("incremental")
        if inc:
            log(
                f"  incremental sync under py-spy ({inc['wall_s']:.2f} s wall): raw stacks {inc['raw_stacks']}"
            )
            for key, t in _threads_to_show(inc):
                log(
                    f"  thread {key}: busy {t['busy_pct_of_wall']}% of wall; by area: "
                    + ", ".join(f"{e['function']} {e['pct_of_wall']}%" for e in t["by_area"][:8])
                )
                log(
                    "    connector functions, inclusive (busy) time: "
                    + "; ".join(
                        f"{e['function']} {e['pct_of_wall']}%"
                        for e in t["connector_inclusive_top"][:10]
                    )
                )
                log(
                    "    hottest lines: "
                    + "; ".join(
                        f"{e['function']} {e['pct_of_wall']}%" for e in t["self_top_lines"][:6]
                    )
                )
    elif prof:
        log(f"profile: {prof.get('error')}")
    log("")
    for tgt in out["targets"]:
        log(f"{'PASS' if tgt['pass'] else 'MISS'}  {tgt['target']}: {tgt['value']}")


def _threads_to_show(prof: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The main thread first, then other threads busy for at least 2% of the wall time."""
    items = sorted(
        prof["threads"].items(), key=lambda kv: (kv[0] != "main", -kv[1]["busy_pct_of_wall"])
    )
    return [(k, t) for k, t in items if k == "main" or t["busy_pct_of_wall"] >= 2.0]


def _rounded(obj: Any) -> Any:
    if isinstance(obj, float):
        return round(obj, 3)
    if isinstance(obj, dict):
        return {k: _rounded(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_rounded(v) for v in obj]
    return obj


if __name__ == "__main__":
    raise SystemExit(main())
