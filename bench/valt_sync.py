"""VALT benchmark: full and incremental sync of N recordings, and the archive job's throughput.

One sandbox whose world holds ``--recordings N`` VALT recordings (default 50,000; the world's
size is chosen for it and VALT-only recordings created to make up any shortfall) serves
every phase; each phase is its own child process, so its wall time, CPU time and peak RSS
(``os.wait4`` ``ru_maxrss``, cross-checked by sampling psutil) are its own:

1. **full sync**: ``python -m connector sync valt`` into a fresh warehouse and lake (the
   first run: a sweep of the whole listing, then the details of every recording);
2. **incremental**: ``POST /_control/valt/churn`` (default 200 creates, 300 renames, 300
   retention changes, 100 deletes), then the same command on the same warehouse: an
   incremental listing from the newest ``created`` minus the overlap, then the details the
   policy picks (new, changed, retention ending within the horizon, the rolling share);
3. **archive**: the archive job (``--apply``) downloads the K videos whose retention ends
   soonest from the sandbox's VALT CDN, each run into a fresh lake, once per
   ``--archive-runs`` entry ``K:MB`` (K videos, the CDN's ``video_bytes`` set to MB, each
   video 0.5-1.5x that). Throughput is the bytes written over the job's own elapsed time
   (the mint call per video included). Flat memory: the runs' peak RSS stay within
   ``--flat-tolerance-mb`` of each other while the bytes and the file count grow.

Requests come from the sandbox's ``/_control/stats`` (reset before each phase). Other
processes share this 2-core machine: before each timed phase the script waits up to
``--quiet-wait`` s for it to go idle, and reports the load and the CPU others used.

Usage: python bench/valt_sync.py [--recordings N] [--json] [--archive-runs 200:0.25,2000:0.25,20:32]
(--json: all figures as one JSON object on the last line of stdout.)
"""

from __future__ import annotations

import argparse
import math
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
    du_mb,
    flat_memory,
    load_average,
    log_targets,
    make_log,
    rates,
    rounded,
    run_child,
    set_quiet_wait,
    vendor_requests,
)

VALT_SHARE = 0.177  # VALT recordings per world asset (~15% canonical + 3% VALT-only, ~2% deleted)
DAY_MS = 86_400_000
REPORT_KEYS = (
    "inserted",
    "updated",
    "unchanged",
    "deleted",
    "rejected",
    "listing",
    "sweep_reason",
    "list_pages",
    "listed",
    "due_from_listing",
    "details_selected",
    "details_by_reason",
    "details_fetched",
    "details_not_found",
    "rolling_quota",
    "recordings_removed",
    "videos_written",
    "logins",
    "requests",
    "retries",
    "checkpoints",
    "elapsed_s",
)


# ---------------------------------------------------------------------------------------
# the archive child (``valt_sync.py --archive-child``): the K soonest videos, really
# ---------------------------------------------------------------------------------------


def _archive_child(args: argparse.Namespace) -> int:
    from connector.config import ValtSettings
    from connector.valt import ArchiveJob, ArchiveOptions, archive_valt
    from connector.warehouse import Warehouse

    warehouse = Warehouse.from_env()
    now = int(time.time() * 1000)
    # the K videos whose retention ends soonest: within_days up to the K-th one's end
    probe = ArchiveJob(None, warehouse, ArchiveOptions(within_days=36_500, now_ms=now))
    targets = probe.select()
    if len(targets) < args.videos:
        raise SystemExit(f"only {len(targets)} videos have a retention end; asked {args.videos}")
    kth = targets[args.videos - 1].retention_until_ms
    within_days = (kth - now) / DAY_MS + 1e-9
    options = ArchiveOptions(
        within_days=within_days, dry_run=False, concurrency=args.archive_concurrency, now_ms=now
    )
    report = archive_valt(ValtSettings.from_env(), warehouse, options)
    out = report.as_dict()
    out["files"] = len(report.files)  # the list itself is not a figure
    print(orjson.dumps(out).decode())
    return 0


# ---------------------------------------------------------------------------------------
# phases
# ---------------------------------------------------------------------------------------


def count_rows(warehouse: Path) -> dict[str, int]:
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        total, live = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE removed_at IS NULL) FROM raw.valt_recordings"
        ).fetchone()
        videos = con.execute("SELECT count(*) FROM raw.valt_videos").fetchone()[0]
    finally:
        con.close()
    return {"rows": int(total), "live_rows": int(live), "video_rows": int(videos)}


def sync_phase(sb, wh: Path, lake: Path, extra: list[str], prefix: Path, sb_proc) -> dict:
    sb.reset_stats()
    sb.valt_reset_stats()
    cmd = [sys.executable, "-m", "connector", "sync", "valt", *extra]
    res = run_child(cmd, child_env(sb, ("VALT_",), wh, lake), prefix, sb_proc)
    res.update(vendor_requests(sb, ("valt",)))
    res["valt_requests"] = sb.valt_stats()["requests"]
    report = res.pop("last_json") or {}
    res["report"] = {k: report.get(k) for k in REPORT_KEYS}
    res["sync_elapsed_s"] = report.get("elapsed_s")
    res.update(count_rows(wh))
    return res


def archive_phase(
    sb, wh: Path, lake: Path, videos: int, video_mb: float, concurrency: int, prefix: Path, sb_proc
) -> dict:
    sb.valt_config(video_bytes=max(1, int(video_mb * MB)))
    sb.reset_stats()
    sb.valt_reset_stats()
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--archive-child",
        "--videos",
        str(videos),
        "--archive-concurrency",
        str(concurrency),
    ]
    res = run_child(cmd, child_env(sb, ("VALT_",), wh, lake), prefix, sb_proc)
    res.update(vendor_requests(sb, ("valt", "valt-cdn")))
    stats = sb.valt_stats()
    res["cdn_bytes_served"] = stats.get("cdn_bytes_served")
    res["urls_minted_sandbox"] = stats.get("urls_minted")
    report = res.pop("last_json") or {}
    res["report"] = {
        k: report.get(k)
        for k in (
            "selected",
            "results",
            "files",
            "bytes_downloaded",
            "urls_minted",
            "cdn_requests",
            "range_resumes",
            "elapsed_s",
        )
    }
    res["videos"] = videos
    res["video_mb"] = video_mb
    res["files"] = int(report.get("files") or 0)
    res["bytes"] = int(report.get("bytes_downloaded") or 0)
    res["mb"] = res["bytes"] / MB
    res["lake_mb"] = round(du_mb(lake), 1)
    elapsed = report.get("elapsed_s") or res["wall_s"]
    res["job_elapsed_s"] = elapsed
    res["mb_per_s"] = res["mb"] / elapsed if elapsed else None
    res["mb_per_s_wall"] = res["mb"] / res["wall_s"]
    res["largest_file_mb"] = max((p.stat().st_size for p in lake.rglob("*.mp4")), default=0) / MB
    return res


def make_world(sb, recordings: int, log) -> dict[str, Any]:
    """Live recordings of the world; VALT-only ones created now to reach ``recordings``."""
    live = sum(1 for r in sb.expected_valt(sha256=False) if not r["deleted"])
    created = 0
    if live < recordings:
        created = len(sb.valt_churn(creates=recordings - live)["created"])
        live += created
    log(f"VALT world: {live:,} live recordings ({created:,} created to reach {recordings:,})")
    return {"live_recordings": live, "created_to_fill": created}


def parse_archive_runs(text: str) -> list[tuple[int, float]]:
    runs = []
    for part in text.split(","):
        k, _, mb = part.strip().partition(":")
        runs.append((int(k), float(mb or 0.25)))
    return runs


# ---------------------------------------------------------------------------------------
# the run
# ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--recordings", type=int, default=50_000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--json", action="store_true", help="all figures as one JSON object, last line")
    p.add_argument("--creates", type=int, default=200)
    p.add_argument("--renames", type=int, default=300)
    p.add_argument("--retention-changes", type=int, default=300)
    p.add_argument("--deletes", type=int, default=100)
    p.add_argument(
        "--connector-args", default="", help="extra CLI args for `python -m connector sync valt`"
    )
    p.add_argument(
        "--archive-runs",
        default="200:0.25,2000:0.25,20:32",
        help="archive runs as K:MB (K videos, CDN video_bytes MB), comma-separated; '' = none",
    )
    p.add_argument("--archive-concurrency", type=int, default=2)
    p.add_argument("--flat-tolerance-mb", type=float, default=32.0)
    p.add_argument("--quiet-wait", type=float, default=60.0)
    p.add_argument("--workdir", default=None)
    p.add_argument("--keep", action="store_true")
    p.add_argument("--archive-child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--videos", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.archive_child:
        return _archive_child(args)

    import psutil

    from sandbox.server import SandboxProcess

    set_quiet_wait(args.quiet_wait)
    log = make_log(args.json)
    extra = shlex.split(args.connector_args)
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="bench_valt_"))
    work.mkdir(parents=True, exist_ok=True)
    assets = max(1000, math.ceil(args.recordings / VALT_SHARE))
    out: dict[str, Any] = {
        "bench": "valt_sync",
        "recordings_asked": args.recordings,
        "world_assets": assets,
        "seed": args.seed,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "load_before": load_average(),
        "workdir": str(work),
    }
    try:
        t = time.perf_counter()
        with SandboxProcess(seed=args.seed, assets=assets, startup_timeout=900) as sb:
            sb_proc = psutil.Process(sb.pid)
            out["sandbox"] = {"start_s": round(time.perf_counter() - t, 1)}
            out["world"] = make_world(sb, args.recordings, log)
            conn = work / "connector"
            conn.mkdir(exist_ok=True)
            wh, lake = conn / "warehouse.duckdb", conn / "lake"

            log("full sync ...")
            full = sync_phase(sb, wh, lake, extra, conn / "full", sb_proc)
            rates(full, full["rows"], full["requests"])
            full["warehouse_mb"] = round(du_mb(wh), 1)
            log(f"  {full['wall_s']:.1f} s, {full['rows']:,} rows, {full['requests']:,} requests")
            out["full"] = full

            churn = {
                "creates": args.creates,
                "renames": args.renames,
                "retention_changes": args.retention_changes,
                "deletes": args.deletes,
            }
            changed = sb.valt_churn(**churn)
            log(f"incremental sync after churn {churn} ...")
            inc = sync_phase(sb, wh, lake, extra, conn / "incremental", sb_proc)
            inc["churn"] = {k: len(v) for k, v in changed.items() if isinstance(v, list)}
            rep = inc["report"]
            inc["table_rows"] = inc["rows"]
            inc["rows"] = sum(rep.get(k) or 0 for k in ("inserted", "updated", "deleted"))
            rates(inc, inc["rows"], inc["requests"])
            inc["share_of_full_wall_pct"] = 100 * inc["wall_s"] / full["wall_s"]
            log(f"  {inc['wall_s']:.1f} s ({inc['share_of_full_wall_pct']:.1f}% of full)")
            out["incremental"] = inc

            archives = []
            for i, (k, mb) in enumerate(parse_archive_runs(args.archive_runs or "")):
                if not args.archive_runs:
                    break
                a_lake = work / f"archive_{i + 1}"
                log(f"archive {k} videos of ~{mb:g} MB each ...")
                a = archive_phase(
                    sb,
                    wh,
                    a_lake,
                    k,
                    mb,
                    args.archive_concurrency,
                    work / f"archive_{i + 1}",
                    sb_proc,
                )
                log(
                    f"  {a['mb']:.0f} MB in {a['job_elapsed_s']:.1f} s: {a['mb_per_s']:.0f} MB/s, "
                    f"peak RSS {a['peak_rss_mb']:.0f} MB"
                )
                archives.append(a)
                shutil.rmtree(a_lake, ignore_errors=True)  # keep the disk for the next run
            out["archive"] = archives
            if len(archives) > 1:
                out["archive_memory"] = {
                    "by_bytes": flat_memory(archives, "bytes", args.flat_tolerance_mb),
                    "by_files": flat_memory(archives, "files", args.flat_tolerance_mb),
                }
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
    out["targets"] = evaluate(out)
    print_table(out, log)
    if args.json:
        print(orjson.dumps(rounded(out)).decode())
    return 0


def evaluate(out: dict[str, Any]) -> list[dict[str, Any]]:
    full, inc = out["full"], out["incremental"]
    t = [
        {
            "target": f"full sync holds every recording ({out['world']['live_recordings']:,})",
            "value": f"{full['live_rows']:,}",
            "pass": full["live_rows"] == out["world"]["live_recordings"],
        },
        {
            "target": "connector peak RSS < 1 GB (sync)",
            "value": f"{max(full['peak_rss_mb'], inc['peak_rss_mb']):.0f} MB",
            "pass": max(full["peak_rss_mb"], inc["peak_rss_mb"]) < 1024,
        },
    ]
    for a in out["archive"]:
        results = a["report"]["results"] or {}
        done = results.get("archived", 0) + results.get("not_found", 0)
        t.append(
            {
                "target": f"archive of the {a['videos']} soonest videos (~{a['video_mb']:g} MB): "
                "each archived, or not_found (deleted by the churn, no sweep since); bytes "
                "written = bytes the CDN served",
                "value": f"{results}, {a['mb']:.0f} MB",
                "pass": done == a["report"]["selected"] and a["bytes"] == a["cdn_bytes_served"],
            }
        )
    mem = out.get("archive_memory")
    if mem:
        b = mem["by_bytes"]
        t.append(
            {
                "target": f"archive memory flat (peak RSS spread <= {b['tolerance_mb']:g} MB "
                "while bytes and file count grow)",
                "value": f"peaks {b['peak_rss_mb']} MB over {b['growth_x']}x bytes, "
                f"{mem['by_files']['growth_x']}x files",
                "pass": b["flat"],
            }
        )
    return t


def print_table(out: dict[str, Any], log) -> None:
    full, inc = out["full"], out["incremental"]
    log("")
    log(
        f"VALT benchmark: {out['world']['live_recordings']:,} recordings (world of "
        f"{out['world_assets']:,} assets, seed {out['seed']}), {out['machine']['cpus']} CPUs, "
        f"sandbox on the same machine; load {out['load_before']} before, {out['load_after']} after"
    )
    hdr = (
        f"{'phase':14} {'seconds':>8} {'rows':>8} {'rows/s':>8} {'requests':>9} {'req/s':>7} "
        f"{'peak RSS MB':>12} {'CPU s':>6} {'sandbox CPU s':>14} {'other CPU s':>12}"
    )
    log(hdr)
    log("-" * len(hdr))
    for label, r in (("full", full), ("incremental", inc)):
        log(
            f"{label:14} {r['wall_s']:8.2f} {r['rows']:8,} {r['rows_per_s']:8,.0f} "
            f"{r['requests']:9,} {r['requests_per_s']:7,.0f} {r['peak_rss_mb']:12,.0f} "
            f"{r['cpu_s']:6.1f} {r['sandbox_cpu_s'] or 0:14.1f} {r['other_cpu_s']:12.1f}"
        )
    log(
        f"full: {full['live_rows']:,} recordings, {full['video_rows']:,} videos; sync elapsed "
        f"{full['sync_elapsed_s']} s; requests {full['valt_requests']}; warehouse "
        f"{full['warehouse_mb']} MB; RSS by quarter {full['rss_timeline'].get('max_mb_by_quarter')}"
    )
    rep = inc["report"]
    log(
        f"incremental (rows = rows written): churn {inc['churn']}; listing {rep['listing']} "
        f"({rep['list_pages']} pages), details {rep['details_by_reason']}; inserted "
        f"{rep['inserted']}, updated {rep['updated']}, deleted {rep['deleted']}; "
        f"{inc['share_of_full_wall_pct']:.1f}% of the full sync's wall time"
    )
    if out["archive"]:
        log("")
        hdr = (
            f"{'archive run':24} {'files':>6} {'MB':>7} {'largest MB':>10} {'job s':>7} "
            f"{'MB/s':>7} {'peak RSS MB':>12} {'RSS by quarter MB':>22} {'CDN requests':>13}"
        )
        log(hdr)
        log("-" * len(hdr))
        for a in out["archive"]:
            q = a["rss_timeline"].get("max_mb_by_quarter")
            log(
                f"{str(a['videos']) + ' x ~' + format(a['video_mb'], 'g') + ' MB':24} "
                f"{a['files']:6,} {a['mb']:7.0f} {a['largest_file_mb']:10.1f} "
                f"{a['job_elapsed_s']:7.2f} {a['mb_per_s']:7.0f} {a['peak_rss_mb']:12.0f} "
                f"{str(q):>22} {a['report']['cdn_requests'] or 0:13,}"
            )
        log("(MB/s: bytes written over the job's own elapsed time, a mint call per video included)")
    log("")
    log_targets(log, out["targets"])


if __name__ == "__main__":
    raise SystemExit(main())
