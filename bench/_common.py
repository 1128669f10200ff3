"""What bench/valt_sync.py and bench/iris_probe.py share.

The child-process machinery (wall / CPU time, peak RSS from ``os.wait4`` ``ru_maxrss``, the
psutil RSS timeline, the wait for an idle machine) is bench/uplynk_sync.py's, imported from
there; this module adds the small pieces both scripts need around it: the log, a child's
environment for one vendor, request counts per vendor from the sandbox, the machine's load,
and the flat-memory verdict over several runs.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from bench import uplynk_sync
from bench.uplynk_sync import MB, ROOT, _last_json, _rounded, du_mb, run_child

__all__ = [
    "MB",
    "ROOT",
    "child_env",
    "du_mb",
    "flat_memory",
    "last_json",
    "load_average",
    "make_log",
    "rates",
    "rounded",
    "run_child",
    "set_quiet_wait",
    "vendor_requests",
]

last_json = _last_json
rounded = _rounded


def set_quiet_wait(seconds: float) -> None:
    """How long ``run_child`` waits for an idle machine before each timed phase."""
    uplynk_sync.QUIET_WAIT_S = seconds


def make_log(json_mode: bool) -> Callable[..., None]:
    """Human output: stderr under ``--json`` (stdout's last line is the JSON), else stdout."""
    stream = sys.stderr if json_mode else sys.stdout
    return lambda *a: print(*a, file=stream, flush=True)


def log_targets(log: Callable[..., None], targets: Iterable[dict[str, Any]]) -> None:
    """One ``PASS``/``MISS`` line per target (``target``, ``value``, ``pass``)."""
    for tgt in targets:
        log(f"{'PASS' if tgt['pass'] else 'MISS'}  {tgt['target']}: {tgt['value']}")


def child_env(
    sb, prefixes: Iterable[str], warehouse: Path | None = None, lake: Path | None = None
) -> dict[str, str]:
    """This process's environment plus the sandbox's variables starting with ``prefixes``
    (``VALT_``, ``IRIS_``...), the warehouse and lake, and the repository on PYTHONPATH."""
    env = {**os.environ}
    prefixes = tuple(prefixes)
    env.update({k: v for k, v in sb.env.items() if k.startswith(prefixes)})
    if warehouse is not None:
        env["CONNECTOR_WAREHOUSE"] = str(warehouse)
    if lake is not None:
        env["CONNECTOR_LAKE"] = str(lake)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def vendor_requests(sb, vendors: Iterable[str]) -> dict[str, Any]:
    """Requests the sandbox served since its last ``reset_stats``, for ``vendors``: the
    total and per path's last segment."""
    vendors = set(vendors)
    snap = sb.stats()
    by_path: Counter[str] = Counter()
    for r in snap["requests"]:
        if r["vendor"] in vendors:
            by_path[f"{r['vendor']}:{r['path'].rstrip('/').rsplit('/', 1)[-1]}"] += r["count"]
    total = sum(int(snap.get("by_vendor", {}).get(v, 0)) for v in vendors)
    return {"requests": total, "by_endpoint": dict(by_path)}


def rates(res: dict[str, Any], rows: int, requests: int | None = None) -> None:
    """``rows_per_s`` and ``requests_per_s`` over the phase's process wall time."""
    wall = res["wall_s"] or float("nan")
    res["rows_per_s"] = rows / wall
    if requests is not None:
        res["requests_per_s"] = requests / wall


def load_average() -> dict[str, float]:
    one, five, fifteen = os.getloadavg()
    return {"1m": round(one, 2), "5m": round(five, 2), "15m": round(fifteen, 2)}


def flat_memory(
    runs: list[dict[str, Any]], grow_key: str, tolerance_mb: float = 32.0
) -> dict[str, Any]:
    """Whether peak RSS stays flat while ``grow_key`` (bytes, files...) grows across
    ``runs``: the spread of their peaks (max - min) within ``tolerance_mb``."""
    peaks = [r["peak_rss_mb"] for r in runs]
    grows = [r[grow_key] for r in runs]
    spread = max(peaks) - min(peaks)
    low = min(grows) or 1
    return {
        "peak_rss_mb": [round(p, 1) for p in peaks],
        grow_key: grows,
        "growth_x": round(max(grows) / low, 1),
        "rss_spread_mb": round(spread, 1),
        "tolerance_mb": tolerance_mb,
        "flat": spread <= tolerance_mb,
    }
