"""Helpers for the VALT loopback tests: run a sync or the archive job against the sandbox,
and compare every column of the VALT tables with what the sandbox served.

Expected rows never come from the code under test: the sandbox reports every recording
exactly as it serves its details (``GET /_control/valt/expected``), with per video the
``bytes`` and ``sha256`` of what its CDN serves, and :func:`restate_recording` /
:func:`restate_video` map that record to columns by the rules of the README data dictionary,
written out here by hand (``retention_until`` for each retention type included).
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson

from connector.config import ValtSettings
from connector.http import RetryPolicy
from connector.valt import (
    ArchiveOptions,
    ArchiveReport,
    SyncOptions,
    ValtReport,
    archive_valt,
    sync_valt,
)
from connector.warehouse import Warehouse

ROOT = Path(__file__).resolve().parent.parent
FAST_RETRY = RetryPolicy(max_attempts=12, max_elapsed_s=60.0, initial_wait_s=0.01, max_wait_s=0.2)
DAY_S = 86_400
HOUR_MS = 3_600_000
DAY_MS = 86_400_000

RECORDING_COLUMNS = (
    "record_id",
    "name",
    "created_at",
    "duration_s",
    "author_id",
    "author_name",
    "room_id",
    "room_name",
    "retention_type",
    "retention_until",
    "markers_count",
    "listed_hash",
    "details_checked_at",
    "first_seen_at",
    "last_seen_at",
    "removed_at",
)
VIDEO_COLUMNS = (
    "record_id",
    "video_id",
    "camera",
    "duration_s",
    "url",
    "url_expires_at",
    "minted_at",
)
STAMPS = ("details_checked_at", "first_seen_at", "last_seen_at", "removed_at")
_TIMESTAMPS = {"created_at", "retention_until", "url_expires_at", "minted_at", *STAMPS}


def valt_settings(sandbox) -> ValtSettings:
    return ValtSettings.from_env(sandbox.env)


def new_warehouse(tmp_path: Path, name: str = "wh") -> Warehouse:
    return Warehouse(tmp_path / f"{name}.duckdb", tmp_path / f"{name}-lake")


def run_valt(sandbox, warehouse: Warehouse, *, now_ms: int | None = None, **options) -> ValtReport:
    """One sync at the sandbox's simulated now (or ``now_ms``)."""
    timeout = options.pop("timeout", 10.0)
    retry = options.pop("retry", FAST_RETRY)
    opts = SyncOptions(now_ms=sandbox.now_ms() if now_ms is None else now_ms, **options)
    return sync_valt(valt_settings(sandbox), warehouse, opts, retry=retry, timeout=timeout)


def run_archive(sandbox, warehouse: Warehouse, **options) -> ArchiveReport:
    """The archive job at the sandbox's simulated now; a real run unless ``dry_run``."""
    options.setdefault("now_ms", sandbox.now_ms())
    options.setdefault("dry_run", False)
    retry = options.pop("retry", FAST_RETRY)
    return archive_valt(valt_settings(sandbox), warehouse, ArchiveOptions(**options), retry=retry)


# -- ground truth ------------------------------------------------------------------------------


def sandbox_recordings(sandbox, with_sha: bool = False) -> tuple[dict[str, dict], dict[str, dict]]:
    """(live, deleted) recordings of the sandbox by id as text, details as served."""
    live, deleted = {}, {}
    for record in sandbox.expected_valt(sha256=with_sha):
        (deleted if record.pop("deleted") else live)[str(record["id"])] = record
    return live, deleted


def restated_retention_until(record: dict[str, Any]) -> int | None:
    """The data dictionary's rule, in epoch ms: until -> ``until``; for -> ``created`` +
    days/hours/minutes (absent = 0); infinitely and inherit -> NULL."""
    r = record["retention"]
    if r["type"] == "until":
        return r["until"] * 1000
    if r["type"] == "for":
        s = r.get("days", 0) * 86_400 + r.get("hours", 0) * 3_600 + r.get("minutes", 0) * 60
        return (record["created"] + s) * 1000
    return None


def restate_recording(record: dict[str, Any]) -> dict[str, Any]:
    """A recording as the sandbox serves it -> its raw.valt_recordings content columns
    (timestamps as epoch ms; ``listed_hash`` and the stamps are compared apart)."""

    def text(v: Any) -> str | None:
        return None if v is None else str(v)

    return {
        "record_id": str(record["id"]),
        "name": record["name"],
        "created_at": record["created"] * 1000,
        "duration_s": float(record["duration"]),
        "author_id": text(record["author"]["id"]),
        "author_name": record["author"]["name"],
        "room_id": text(record["room"]["id"]),
        "room_name": record["room"]["name"],
        "retention_type": record["retention"]["type"],
        "retention_until": restated_retention_until(record),
        "markers_count": len(record["markers"]),
    }


def restate_videos(record: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """A recording's videos -> raw.valt_videos rows before any URL was minted."""
    rid = str(record["id"])
    return {
        (rid, str(v["id"])): {
            "record_id": rid,
            "video_id": str(v["id"]),
            "camera": v["camera"],
            "duration_s": float(v["duration"]),
            "url": None,
            "url_expires_at": None,
            "minted_at": None,
        }
        for v in record["videos"]
    }


def jwt_claims(url: str) -> dict[str, Any]:
    """The claims of the ``access_token`` JWT in a URL, read by hand."""
    token = url.split("access_token=", 1)[1].split("&", 1)[0]
    payload = token.split(".")[1]
    return orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


# -- what the warehouse holds -----------------------------------------------------------------


def rows(warehouse: Warehouse, sql: str, params=None) -> list[tuple]:
    with warehouse.read() as con:
        return con.execute(sql, params or []).fetchall()


def table_columns(warehouse: Warehouse, table: str) -> tuple[str, ...]:
    schema, name = table.split(".")
    return tuple(
        r[0]
        for r in rows(
            warehouse,
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [schema, name],
        )
    )


def stored(warehouse: Warehouse, table: str, columns: tuple[str, ...], key: int) -> dict:
    """``table`` by its first ``key`` columns, every column (timestamps as epoch ms); fails
    if the table has a column the restatements above do not cover, or a key twice."""
    assert table_columns(warehouse, table) == columns, (
        f"{table} changed: restate its columns in tests/valt_helpers.py"
    )
    select = ", ".join(f"epoch_ms({c})" if c in _TIMESTAMPS else c for c in columns)
    out: dict = {}
    for row in rows(warehouse, f"SELECT {select} FROM {table}"):
        k = row[0] if key == 1 else row[:key]
        assert k not in out, f"{table}: {k} stored twice"
        out[k] = dict(zip(columns, row, strict=True))
    return out


def stored_recordings(warehouse: Warehouse) -> dict[str, dict]:
    return stored(warehouse, "raw.valt_recordings", RECORDING_COLUMNS, 1)


def stored_videos(warehouse: Warehouse) -> dict[tuple[str, str], dict]:
    return stored(warehouse, "raw.valt_videos", VIDEO_COLUMNS, 2)


def _diff(got: dict | None, want: dict) -> str:
    if got is None:
        return "missing"
    return ", ".join(f"{k}: {got[k]!r} != {v!r}" for k, v in want.items() if got[k] != v)


def assert_matches_sandbox(
    sandbox, warehouse: Warehouse, *, stamps: dict[str, int | None] | None = None
) -> tuple[dict, dict]:
    """Every live recording of the sandbox is stored, every content column as restated,
    with its videos (and no other video); nothing is stored live that the sandbox deleted
    or never served; ``stamps`` (column -> epoch ms) are checked on every live one.
    Returns (live, deleted) as the sandbox holds them."""
    live, deleted = sandbox_recordings(sandbox)
    recs, vids = stored_recordings(warehouse), stored_videos(warehouse)
    problems: list[str] = []
    want_videos: dict = {}
    for rid, record in live.items():
        got = recs.get(rid)
        want = restate_recording(record) | (stamps or {})
        if _diff(got, want):
            problems.append(f"recording {rid}: {_diff(got, want)}")
        elif not got["listed_hash"] or got["removed_at"] is not None:
            problems.append(f"recording {rid}: no listed_hash or removed")
        want_videos.update(restate_videos(record))
    for key, want in want_videos.items():
        got = vids.get(key)
        content = {k: v for k, v in want.items() if k not in ("url", "url_expires_at", "minted_at")}
        if _diff(got, content):
            problems.append(f"video {key}: {_diff(got, content)}")
    for key in set(vids) - set(want_videos):
        if key[0] in live or recs.get(key[0], {}).get("removed_at") is None:
            problems.append(f"video {key} stored, the sandbox does not serve it")
    for rid, got in recs.items():
        if rid not in live and got["removed_at"] is None:
            problems.append(
                f"{rid} stored live, sandbox: {'deleted' if rid in deleted else 'unknown'}"
            )
    assert not problems, f"{len(problems)} differences, e.g. {problems[:4]}"
    return live, deleted


def snapshot(warehouse: Warehouse) -> tuple[list, list]:
    """Both tables as sorted rows, every column."""
    return (
        rows(warehouse, "SELECT * FROM raw.valt_recordings ORDER BY record_id"),
        rows(warehouse, "SELECT * FROM raw.valt_videos ORDER BY record_id, video_id"),
    )


# -- the command line in a subprocess ---------------------------------------------------------


def cli(sandbox, warehouse: Warehouse, *args: str) -> subprocess.Popen:
    env = {**os.environ, **sandbox.env}
    env["CONNECTOR_WAREHOUSE"] = str(warehouse.path)
    env["CONNECTOR_LAKE"] = str(warehouse.lake_root)
    return subprocess.Popen(
        [sys.executable, "-m", "connector", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
