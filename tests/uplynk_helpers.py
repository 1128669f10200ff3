"""Helpers for the Uplynk loopback tests: run a sync against the sandbox, compare tables."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson

from connector.config import UplynkSettings
from connector.http import RetryPolicy
from connector.uplynk import SyncOptions, SyncReport, sync_uplynk
from connector.uplynk.normalize import asset_row
from connector.warehouse import Warehouse

ROOT = Path(__file__).resolve().parent.parent
FAST_RETRY = RetryPolicy(max_attempts=12, max_elapsed_s=60.0, initial_wait_s=0.01, max_wait_s=0.2)
COMPARED = (
    "asset_id, external_id, title, duration_s, epoch_ms(created_at), epoch_ms(lastmod_at), "
    "epoch_ms(deleted_at), epoch_ms(autoexpire_at), state, job_type, meta::VARCHAR, mp4_url, thumb_url"
)


def settings_for(sandbox) -> UplynkSettings:
    return UplynkSettings.from_env(sandbox.env)


def new_warehouse(tmp_path: Path, name: str = "wh") -> Warehouse:
    return Warehouse(tmp_path / f"{name}.duckdb", tmp_path / f"{name}-lake")


def run_uplynk(sandbox, warehouse: Warehouse, **options) -> SyncReport:
    timeout = options.pop("timeout", 10.0)
    return sync_uplynk(
        settings_for(sandbox), warehouse, SyncOptions(**options), retry=FAST_RETRY, timeout=timeout
    )


def expected_rows(sandbox) -> tuple[set[tuple], set[str], set[str]]:
    """(live rows as compared tuples, ids deleted in the sandbox, ids served malformed)."""
    live: set[tuple] = set()
    deleted: set[str] = set()
    malformed: set[str] = set()
    for record in sandbox.expected_uplynk():
        if record.get("malformed"):
            malformed.add(str(record.get("id")))
            continue
        record = {k: v for k, v in record.items() if k != "malformed"}
        if record.get("deleted"):
            deleted.add(record["id"])
            continue
        row = asset_row(record)
        live.add(row[:13])
    return live, deleted, malformed


def warehouse_rows(warehouse: Warehouse) -> tuple[set[tuple], dict[str, str]]:
    """(live rows as compared tuples, {deleted asset_id: detected_by})."""
    with warehouse.read() as con:
        live = con.execute(
            f"SELECT {COMPARED} FROM raw.uplynk_assets WHERE deleted_at IS NULL"
        ).fetchall()
        dead = con.execute(
            "SELECT asset_id, delete_detected_by FROM raw.uplynk_assets WHERE deleted_at IS NOT NULL"
        ).fetchall()
    return {_canon(r) for r in live}, dict(dead)


def _canon(row: tuple) -> tuple:
    row = list(row)
    if row[10] is not None:  # JSON text from DuckDB: normalise key order/spacing
        row[10] = orjson.dumps(orjson.loads(row[10]), option=orjson.OPT_SORT_KEYS).decode()
    return tuple(row)


def assert_matches_sandbox(sandbox, warehouse: Warehouse) -> None:
    live, deleted, _ = expected_rows(sandbox)
    got_live, got_dead = warehouse_rows(warehouse)
    expected_live = {_canon(r) for r in live}
    missing = expected_live - got_live
    extra = got_live - expected_live
    assert not missing and not extra, (
        f"{len(missing)} expected live rows missing (e.g. {sorted(missing)[:2]}), "
        f"{len(extra)} unexpected live rows (e.g. {sorted(extra)[:2]})"
    )
    wrongly_dead = set(got_dead) - deleted
    assert not wrongly_dead, f"tombstoned but alive in the sandbox: {sorted(wrongly_dead)[:5]}"


def table_snapshot(warehouse: Warehouse) -> tuple[list, list]:
    with warehouse.read() as con:
        assets = con.execute(
            f"SELECT {COMPARED}, delete_detected_by FROM raw.uplynk_assets ORDER BY 1"
        ).fetchall()
        changes = con.execute("SELECT * FROM raw.uplynk_changes ORDER BY ALL").fetchall()
    return assets, changes


def cli_sync(sandbox, warehouse: Warehouse, *extra: str) -> subprocess.Popen:
    env = {**os.environ, **sandbox.env}
    env["CONNECTOR_WAREHOUSE"] = str(warehouse.path)
    env["CONNECTOR_LAKE"] = str(warehouse.lake_root)
    return subprocess.Popen(
        [sys.executable, "-m", "connector", "sync", "uplynk", *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def kill_after_checkpoints(proc: subprocess.Popen, checkpoints: int, timeout: float = 60.0) -> int:
    """SIGKILL ``proc`` right after it logs its N-th committed checkpoint; return how many it
    logged (fewer when the sync finished first)."""
    import signal
    import time

    seen = 0
    deadline = time.monotonic() + timeout
    assert proc.stderr is not None
    for line in iter(proc.stderr.readline, b""):
        if b"checkpoint" in line:
            seen += 1
            if seen >= checkpoints:
                proc.send_signal(signal.SIGKILL)
                break
        if time.monotonic() > deadline:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait()
    return seen
