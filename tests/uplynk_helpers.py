"""Helpers for the Uplynk loopback tests: run a sync against the sandbox, and compare every
column of the Uplynk tables with what the sandbox served.

Expected rows never come from the code under test: the sandbox reports every asset exactly as
it serves it (``GET /_control/uplynk/expected``) and :func:`restate_asset` maps that record to
columns by the rules of the README data dictionary, written out here by hand. The change log
is read from the sandbox's feed by :func:`served_changes`, a signed client of a dozen lines
that shares nothing with ``connector.uplynk``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from connector.config import UplynkSettings
from connector.http import RetryPolicy
from connector.uplynk import SyncOptions, SyncReport, sync_uplynk
from connector.warehouse import Warehouse
from sandbox.uplynk import sign

ROOT = Path(__file__).resolve().parent.parent
FAST_RETRY = RetryPolicy(max_attempts=12, max_elapsed_s=60.0, initial_wait_s=0.01, max_wait_s=0.2)

# raw.uplynk_assets, in table order; the test fails if the table gains a column not restated
ASSET_COLUMNS = (
    "asset_id",
    "external_id",
    "title",
    "duration_s",
    "created_at",
    "lastmod_at",
    "deleted_at",
    "autoexpire_at",
    "state",
    "job_type",
    "meta",
    "mp4_url",
    "thumb_url",
    "delete_detected_by",
)
CHANGE_COLUMNS = ("change_ts", "action", "asset_id")
_TIMESTAMPS = {"created_at", "lastmod_at", "deleted_at", "autoexpire_at", "change_ts"}


def settings_for(sandbox) -> UplynkSettings:
    return UplynkSettings.from_env(sandbox.env)


def new_warehouse(tmp_path: Path, name: str = "wh") -> Warehouse:
    return Warehouse(tmp_path / f"{name}.duckdb", tmp_path / f"{name}-lake")


def run_uplynk(sandbox, warehouse: Warehouse, **options) -> SyncReport:
    timeout = options.pop("timeout", 10.0)
    retry = options.pop("retry", FAST_RETRY)
    return sync_uplynk(
        settings_for(sandbox), warehouse, SyncOptions(**options), retry=retry, timeout=timeout
    )


# -- ground truth ------------------------------------------------------------------------------


def restate_asset(record: dict[str, Any], detected_by: str | None = None) -> dict[str, Any]:
    """One asset as the sandbox served it -> the raw.uplynk_assets row the data dictionary
    promises (timestamps as epoch ms, ``meta`` as the parsed object; see :func:`stored_assets`)."""
    return {
        "asset_id": record["id"],
        "external_id": record["external_id"] or None,  # '' means none
        "title": record["desc"],
        "duration_s": float(record["duration"]),
        "created_at": record["created"],
        "lastmod_at": record["lastmod"] or None,
        "deleted_at": record.get("deleted") or None,
        "autoexpire_at": record["autoexpire"] or None,  # 0 means never
        "state": record["state"],
        "job_type": record["job_type"],
        "meta": record["meta"],
        "mp4_url": record["mp4_url"],
        "thumb_url": record["thumb_url"],
        "delete_detected_by": detected_by if record.get("deleted") else None,
    }


@dataclass
class UplynkTruth:
    """The sandbox's assets now: live and deleted ones as served, malformed ones apart."""

    live: dict[str, dict] = field(default_factory=dict)
    deleted: dict[str, dict] = field(default_factory=dict)
    malformed: dict[str | None, dict] = field(default_factory=dict)


def sandbox_assets(sandbox) -> UplynkTruth:
    truth = UplynkTruth()
    for record in sandbox.expected_uplynk():
        malformed = record.pop("malformed")
        for extra in ("_index", "served_as_strings"):  # the sandbox's notes, not served
            record.pop(extra, None)
        if malformed:
            truth.malformed[record.get("id") if isinstance(record.get("id"), str) else None] = (
                record
            )
        elif record.get("deleted"):
            truth.deleted[record["id"]] = record
        else:
            truth.live[record["id"]] = record
    return truth


def served_changes(sandbox, start_ms: int) -> set[tuple[int, str, str]]:
    """Every (ts ms, action, asset id) the feed serves from ``start_ms`` on, read with a
    client independent of the connector: page with start = end until a page is not full."""
    env = sandbox.env
    page_size = sandbox.world()["changes_page_size"]
    seen: set[tuple[int, str, str]] = set()
    start = start_ms
    with httpx.Client(base_url=env["UPLYNK_BASE_URL"], timeout=30.0) as http:
        while True:
            signed = sign({"start": start}, env["UPLYNK_OWNER"], env["UPLYNK_API_KEY"])
            page = http.post("/api2/asset/changes", data=signed).json()
            assert page["error"] == 0, page
            seen.update((ts, action, asset_id) for ts, action, asset_id in page["changes"])
            if len(page["changes"]) < page_size:
                return seen
            if page["end"] == start:
                raise AssertionError(
                    f"a full page of changes at one millisecond ({start}): the feed cannot be "
                    "read past it; the test needs the sandbox's change log itself"
                )
            start = page["end"]


# -- what the warehouse holds -----------------------------------------------------------------


def table_columns(warehouse: Warehouse, table: str) -> tuple[str, ...]:
    schema, name = table.split(".")
    with warehouse.read() as con:
        return tuple(
            r[0]
            for r in con.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                [schema, name],
            ).fetchall()
        )


def _select(columns: tuple[str, ...]) -> str:
    return ", ".join(
        f"epoch_ms({c})" if c in _TIMESTAMPS else f"{c}::VARCHAR" if c == "meta" else c
        for c in columns
    )


def stored_assets(warehouse: Warehouse) -> dict[str, dict[str, Any]]:
    """raw.uplynk_assets by asset_id, every column, in :func:`restate_asset`'s terms.
    ``meta`` must be a JSON object with its keys sorted (the dictionary says so)."""
    assert table_columns(warehouse, "raw.uplynk_assets") == ASSET_COLUMNS, (
        "raw.uplynk_assets changed: restate the new columns in tests/uplynk_helpers.py"
    )
    with warehouse.read() as con:
        rows = con.execute(f"SELECT {_select(ASSET_COLUMNS)} FROM raw.uplynk_assets").fetchall()
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        d = dict(zip(ASSET_COLUMNS, row, strict=True))
        if d["meta"] is not None:
            meta = orjson.loads(d["meta"])
            assert list(meta) == sorted(meta), f"meta keys not sorted: {d['meta']}"
            d["meta"] = meta
        assert d["asset_id"] not in out, f"asset stored twice: {d['asset_id']}"
        out[d["asset_id"]] = d
    return out


def stored_changes(warehouse: Warehouse) -> list[tuple[int, str, str]]:
    assert table_columns(warehouse, "raw.uplynk_changes") == CHANGE_COLUMNS
    with warehouse.read() as con:
        return con.execute(f"SELECT {_select(CHANGE_COLUMNS)} FROM raw.uplynk_changes").fetchall()


def warehouse_rows(warehouse: Warehouse) -> tuple[set[str], dict[str, str]]:
    """(ids stored live, {id stored deleted: delete_detected_by})."""
    rows = stored_assets(warehouse)
    live = {a for a, r in rows.items() if r["deleted_at"] is None}
    dead = {a: r["delete_detected_by"] for a, r in rows.items() if r["deleted_at"] is not None}
    return live, dead


def _diff(got: dict, want: dict) -> str:
    return ", ".join(f"{k}: {got.get(k)!r} != {want[k]!r}" for k in want if got.get(k) != want[k])


def assert_matches_sandbox(sandbox, warehouse: Warehouse) -> UplynkTruth:
    """Every column of raw.uplynk_assets equals the sandbox's catalog:

    - each live, well-formed sandbox asset is stored live, every column as restated;
    - nothing is stored live that the sandbox has deleted or never served;
    - a stored deletion is one the sandbox made; found by the feed it carries the sandbox's
      deletion time and last state; found by a listing (``reconcile``) its deleted_at is
      an upper bound (the listing's start) and the other columns are its last state.
    """
    truth = sandbox_assets(sandbox)
    stored = stored_assets(warehouse)
    problems: list[str] = []
    for asset_id, record in truth.live.items():
        got = stored.get(asset_id)
        want = restate_asset(record)
        if got is None:
            problems.append(f"live {asset_id} missing")
        elif got != want:
            problems.append(f"live {asset_id}: {_diff(got, want)}")
    for asset_id, got in stored.items():
        if got["deleted_at"] is None:
            if asset_id not in truth.live:
                problems.append(f"{asset_id} stored live, sandbox: deleted or unknown")
            continue
        record = truth.deleted.get(asset_id)
        if record is None:
            problems.append(f"{asset_id} stored deleted, sandbox: not deleted")
            continue
        by = got["delete_detected_by"]
        want = restate_asset(record, by)
        if by == "reconcile":
            if got["deleted_at"] < record["deleted"]:
                problems.append(f"{asset_id}: reconcile deleted_at before the real deletion")
            want["deleted_at"] = got["deleted_at"]
        elif by != "feed":
            problems.append(f"{asset_id}: delete_detected_by {by!r}")
        if got != want:
            problems.append(f"deleted {asset_id}: {_diff(got, want)}")
    assert not problems, f"{len(problems)} differences, e.g. {problems[:4]}"
    return truth


def assert_rejects_are_the_malformed_assets(warehouse: Warehouse, truth: UplynkTruth) -> None:
    """meta.rejects for uplynk_assets: one row per malformed asset served, with a reason and
    the record as served (the sandbox's records hold no secrets, so scrubbing keeps them)."""
    with warehouse.read() as con:
        rejects = con.execute(
            "SELECT record_id, reason, payload::VARCHAR FROM meta.rejects "
            "WHERE stream = 'uplynk_assets'"
        ).fetchall()
    served_with_id = {k: v for k, v in truth.malformed.items() if k is not None}
    got = {r[0]: (r[1], orjson.loads(r[2])) for r in rejects if r[0] is not None}
    assert set(got) <= set(served_with_id)
    assert len(got) >= 0.5 * len(served_with_id)  # only those the sync fetched: listed live
    for record_id, (reason, payload) in got.items():
        assert reason, record_id
        assert payload == served_with_id[record_id], record_id
    no_id = [orjson.loads(r[2]) for r in rejects if r[0] is None]
    assert all(p.get("id") is None and "desc" in p for p in no_id)


def table_snapshot(warehouse: Warehouse) -> tuple[list, list]:
    with warehouse.read() as con:
        assets = con.execute(
            f"SELECT {_select(ASSET_COLUMNS)} FROM raw.uplynk_assets ORDER BY 1"
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
