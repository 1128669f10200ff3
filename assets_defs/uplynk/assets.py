"""Uplynk assets: the change feed and current asset state, synced together."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from assets_defs.catalog import table_key, table_metadata, table_spec
from assets_defs.resources import WarehouseResource, run_or_fail
from assets_defs.uplynk.resources import UplynkResource
from connector.uplynk import SyncOptions, sync_uplynk

GROUP = "uplynk"


_DEFAULTS = SyncOptions()


class UplynkSyncConfig(dg.Config):
    """Run config of the Uplynk sync (defaults are ``connector.uplynk.SyncOptions``'s)."""

    full_refresh: bool = _DEFAULTS.full_refresh
    delete_window_hours: float = _DEFAULTS.delete_window_ms / 3_600_000
    checkpoint_pages: int = _DEFAULTS.checkpoint_pages
    checkpoint_rows: int = _DEFAULTS.checkpoint_rows
    list_concurrency: int = _DEFAULTS.list_concurrency


def _ts(ms: int | None) -> str:
    return "none" if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()


ASSETS_TABLE, CHANGES_TABLE = "raw.uplynk_assets", "raw.uplynk_changes"
KINDS = {"uplynk", "duckdb", "parquet"}
FRESH_WITHIN = timedelta(hours=1)  # the schedule runs every 15 minutes


@dg.multi_asset(
    name="uplynk_sync",
    specs=[
        table_spec(
            ASSETS_TABLE,
            group=GROUP,
            kinds=KINDS,
            description="One row per Uplynk asset, current state; deleted assets kept as tombstones.",
            fresh_within=FRESH_WITHIN,
        ),
        table_spec(
            CHANGES_TABLE,
            group=GROUP,
            kinds=KINDS,
            description="One row per Uplynk change-feed entry (ts, action, asset), de-duplicated.",
            fresh_within=FRESH_WITHIN,
        ),
    ],
)
def uplynk_sync(
    context: dg.AssetExecutionContext,
    config: UplynkSyncConfig,
    uplynk: UplynkResource,
    warehouse: WarehouseResource,
):
    """Walks /api2/asset/changes from the saved cursor, fetches missing states with
    /api2/asset/get, and runs a full /api2/asset/list reconciliation on the first run or when
    the cursor is older than the vendor's delete window (6 h), so forgotten deletions are found."""
    options = SyncOptions(
        full_refresh=config.full_refresh,
        delete_window_ms=int(config.delete_window_hours * 3_600_000),
        checkpoint_pages=config.checkpoint_pages,
        checkpoint_rows=config.checkpoint_rows,
        list_concurrency=config.list_concurrency,
    )
    report = run_or_fail(
        sync_uplynk,
        uplynk.settings(),
        warehouse.get(),
        options,
        run_id=f"uplynk-{context.run.run_id[:8]}",
    )
    context.log.info(
        f"uplynk: {report.inserted} inserted, {report.updated} updated, {report.deleted} deleted, "
        f"{report.rejected} rejected; cursor {_ts(report.cursor_before)} -> {_ts(report.cursor_after)}"
    )
    common = {
        "cursor_before": _ts(report.cursor_before),
        "cursor_after": _ts(report.cursor_after),
        "cursor_after_ms": dg.MetadataValue.int(report.cursor_after or 0),
        "reconciled": report.reconciled or "no",
        "bursts": dg.MetadataValue.int(report.bursts),
        "requests": dg.MetadataValue.int(report.requests),
        "retries": dg.MetadataValue.int(report.retries),
        "responses_429": dg.MetadataValue.int(report.responses_429),
        "elapsed_s": dg.MetadataValue.float(report.elapsed_s),
    }
    wh = warehouse.get()
    yield dg.MaterializeResult(
        asset_key=table_key(ASSETS_TABLE),
        metadata={
            **common,
            **table_metadata(wh, ASSETS_TABLE),
            "rows_inserted": dg.MetadataValue.int(report.inserted),
            "rows_updated": dg.MetadataValue.int(report.updated),
            "rows_deleted": dg.MetadataValue.int(report.deleted),
            "rows_rejected": dg.MetadataValue.int(report.rejected),
            "assets_fetched_by_get": dg.MetadataValue.int(report.assets_fetched),
        },
    )
    yield dg.MaterializeResult(
        asset_key=table_key(CHANGES_TABLE),
        metadata={
            **common,
            **table_metadata(wh, CHANGES_TABLE),
            "changes_new": dg.MetadataValue.int(report.changes),
        },
    )
