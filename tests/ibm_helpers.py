"""Helpers for the IBM loopback tests: run a sync against the sandbox, read tables."""

from __future__ import annotations

from pathlib import Path

from connector.config import IbmSettings
from connector.http import RetryPolicy
from connector.ibm import RefreshPolicy, SyncOptions, SyncReport, sync_ibm
from connector.warehouse import Warehouse

FAST_RETRY = RetryPolicy(max_attempts=12, max_elapsed_s=60.0, initial_wait_s=0.01, max_wait_s=2.0)
DAY_S = 86_400
DAY_MS = 86_400_000
VIDEO_COLS = (
    "video_id, channel_id, title, length_s, epoch_ms(created_at), epoch_ms(added_at), protect, "
    "epoch_ms(first_seen_at), epoch_ms(last_seen_at), epoch_ms(removed_at)"
)
EXP_COLS = "video_id, rule, epoch_ms(expires_at), check_status, epoch_ms(checked_at)"


def ibm_settings(sandbox) -> IbmSettings:
    return IbmSettings.from_env(sandbox.env)


def new_warehouse(tmp_path: Path, name: str = "wh") -> Warehouse:
    return Warehouse(tmp_path / f"{name}.duckdb", tmp_path / f"{name}-lake")


def run_ibm(
    sandbox,
    warehouse: Warehouse,
    *,
    now_ms: int | None = None,
    policy: RefreshPolicy | None = None,
    **options,
) -> SyncReport:
    """One sync at the sandbox's simulated now (or ``now_ms``)."""
    timeout = options.pop("timeout", 10.0)
    opts = SyncOptions(
        policy=policy or RefreshPolicy(),
        now_ms=sandbox.now_ms() if now_ms is None else now_ms,
        **options,
    )
    return sync_ibm(ibm_settings(sandbox), warehouse, opts, retry=FAST_RETRY, timeout=timeout)


def expected_listed(sandbox) -> dict[str, dict]:
    """The videos the sandbox lists now in the configured channels, by id."""
    channels = set(sandbox.env["IBM_VIDEO_CHANNEL_IDS"].split(","))
    return {
        r["id"]: r for r in sandbox.expected_ibm() if r["listed"] and r["channel_id"] in channels
    }


def rows(warehouse: Warehouse, sql: str, params=None) -> list[tuple]:
    with warehouse.read() as con:
        return con.execute(sql, params or []).fetchall()


def snapshot(warehouse: Warehouse) -> tuple[list, list, list]:
    """(videos, expirations, history) as sorted rows (run ids left out)."""
    return (
        rows(warehouse, f"SELECT {VIDEO_COLS} FROM raw.ibm_videos ORDER BY video_id"),
        rows(warehouse, f"SELECT {EXP_COLS} FROM raw.ibm_expirations ORDER BY video_id"),
        rows(
            warehouse,
            "SELECT video_id, epoch_ms(observed_at), rule, epoch_ms(expires_at), check_status, prev_rule, "
            "epoch_ms(prev_expires_at), prev_check_status, source FROM raw.ibm_expiration_history ORDER BY ALL",
        ),
    )


# -- every column against the sandbox ---------------------------------------------------------

VIDEO_COLUMNS = (
    "video_id",
    "channel_id",
    "title",
    "length_s",
    "created_at",
    "added_at",
    "protect",
    "first_seen_at",
    "last_seen_at",
    "missing_since",
    "removed_at",
)
EXPIRATION_COLUMNS = ("video_id", "rule", "expires_at", "check_status", "checked_at")
_NOT_TIMESTAMPS = {"video_id", "channel_id", "title", "length_s", "protect", "rule", "check_status"}


def restate_video(video: dict, first_seen_ms: int, last_seen_ms: int) -> dict:
    """A video the sandbox lists -> its raw.ibm_videos row (timestamps in epoch ms), by the
    data dictionary: ``length`` is a string of seconds, ``created_at``/``added_at`` Unix s."""
    return {
        "video_id": video["id"],
        "channel_id": video["channel_id"],
        "title": video["title"],
        "length_s": float(video["length"]),
        "created_at": video["created_at"] * 1000,
        "added_at": video["added_at"] * 1000,
        "protect": video["protect"],
        "first_seen_at": first_seen_ms,
        "last_seen_at": last_seen_ms,
        "missing_since": None,
        "removed_at": None,
    }


def restate_expiration(video: dict, checked_ms: int) -> dict:
    """A video's expiration as the sandbox holds it -> its raw.ibm_expirations row."""
    error = video["check_error"]
    return {
        "video_id": video["id"],
        "rule": None if error else video["rule"],
        "expires_at": None if error or video["expires_at"] is None else video["expires_at"] * 1000,
        "check_status": error or "ok",
        "checked_at": checked_ms,
    }


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


def stored_table(warehouse: Warehouse, table: str, columns: tuple[str, ...]) -> dict[str, dict]:
    """``table`` by video_id, every column (timestamps as epoch ms); fails if the table has a
    column the restatements above do not cover."""
    assert table_columns(warehouse, table) == columns, (
        f"{table} changed: restate its columns in tests/ibm_helpers.py"
    )
    select = ", ".join(c if c in _NOT_TIMESTAMPS else f"epoch_ms({c})" for c in columns)
    out = {}
    for row in rows(warehouse, f"SELECT {select} FROM {table}"):
        assert row[0] not in out, f"{table}: {row[0]} stored twice"
        out[row[0]] = dict(zip(columns, row, strict=True))
    return out


def _diff(got: dict | None, want: dict) -> str:
    if got is None:
        return "missing"
    return ", ".join(f"{k}: {got[k]!r} != {v!r}" for k, v in want.items() if got[k] != v)


def assert_ibm_matches_sandbox(
    sandbox,
    warehouse: Warehouse,
    now_ms: int,
    first_seen_ms: int | dict[str, int] | None = None,
    *,
    all_checked: bool = True,
) -> dict[str, dict]:
    """After a sync at ``now_ms`` (the first one at ``first_seen_ms``, default the same; a
    dict gives it per video):
    every column of raw.ibm_videos and raw.ibm_expirations for every video the sandbox lists,
    malformed ones excepted (rejected, never stored); no stored video counts as listed that
    the sandbox does not list. ``all_checked``: every listed video's expiration was read at
    ``now_ms`` (else only those read then are compared). Returns the listed videos by id."""
    listed = expected_listed(sandbox)
    videos = stored_table(warehouse, "raw.ibm_videos", VIDEO_COLUMNS)
    expirations = stored_table(warehouse, "raw.ibm_expirations", EXPIRATION_COLUMNS)
    first = first_seen_ms if isinstance(first_seen_ms, dict) else {}
    default_first = first_seen_ms if isinstance(first_seen_ms, int) else now_ms
    problems = []
    for vid, video in listed.items():
        if video["malformed"]:
            if vid in videos:
                problems.append(f"malformed {vid} stored")
            continue
        diff = _diff(videos.get(vid), restate_video(video, first.get(vid, default_first), now_ms))
        if diff:
            problems.append(f"video {vid}: {diff}")
        stored = expirations.get(vid)
        if not all_checked and (stored is None or stored["checked_at"] != now_ms):
            continue
        diff = _diff(stored, restate_expiration(video, now_ms))
        if diff:
            problems.append(f"expiration {vid}: {diff}")
    for vid, row in videos.items():
        if vid not in listed and row["missing_since"] is None and row["removed_at"] is None:
            problems.append(f"{vid} stored as listed, the sandbox does not list it")
    assert not problems, f"{len(problems)} differences, e.g. {problems[:4]}"
    return listed
