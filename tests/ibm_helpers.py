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
