"""VALT assets: recordings (listing + details by policy) and their videos, synced together."""

from datetime import timedelta

import dagster as dg

from assets_defs.catalog import table_key, table_metadata, table_spec
from assets_defs.resources import WarehouseResource, run_or_fail
from assets_defs.valt.resources import ValtResource
from connector.valt import SyncOptions, sync_valt

GROUP = "valt"
RECORDINGS, VIDEOS = "raw.valt_recordings", "raw.valt_videos"
KINDS = {"valt", "duckdb", "parquet"}
FRESH_WITHIN = timedelta(hours=3)  # the schedule runs hourly
_DEFAULTS = SyncOptions()


class ValtSyncConfig(dg.Config):
    """Run config of the VALT sync (defaults are ``connector.valt.SyncOptions``'s)."""

    full_refresh: bool = _DEFAULTS.full_refresh
    staleness_days: float = _DEFAULTS.staleness_days
    run_interval_hours: float = _DEFAULTS.run_interval_hours
    retention_horizon_days: float = _DEFAULTS.retention_horizon_days
    sweep_every_hours: float = _DEFAULTS.sweep_every_hours
    details_concurrency: int = _DEFAULTS.details_concurrency


@dg.multi_asset(
    name="valt_sync",
    specs=[
        table_spec(
            RECORDINGS,
            group=GROUP,
            kinds=KINDS,
            description="One row per VALT recording: listed fields, retention from its details "
            "(re-read by policy), removed_at once a sweep and a details 404 agree it is gone.",
            fresh_within=FRESH_WITHIN,
        ),
        table_spec(
            VIDEOS,
            group=GROUP,
            kinds=KINDS,
            description="One row per video of a VALT recording; its download URL (token removed) "
            "and expiry once the archive job minted one.",
            fresh_within=FRESH_WITHIN,
        ),
    ],
)
def valt_sync(
    context: dg.AssetExecutionContext,
    config: ValtSyncConfig,
    valt: ValtResource,
    warehouse: WarehouseResource,
):
    """Lists recordings (by created date with an overlap, a full sweep daily), then reads the
    details the policy selects: new or changed ones, retention ending soon, and a rolling
    share of the rest within the staleness budget."""
    options = SyncOptions(
        full_refresh=config.full_refresh,
        staleness_days=config.staleness_days,
        run_interval_hours=config.run_interval_hours,
        retention_horizon_days=config.retention_horizon_days,
        sweep_every_hours=config.sweep_every_hours,
        details_concurrency=config.details_concurrency,
    )
    report = run_or_fail(
        sync_valt,
        valt.settings(),
        warehouse.get(),
        options,
        run_id=f"valt-{context.run.run_id[:8]}",
    )
    context.log.info(
        f"valt: listing {report.listing}, {report.listed} listed, {report.details_fetched} details "
        f"read, {report.recordings_removed} removed, {report.rejected} rejected"
    )
    common = {
        "requests": dg.MetadataValue.int(report.requests),
        "retries": dg.MetadataValue.int(report.retries),
        "responses_429": dg.MetadataValue.int(report.responses_429),
        "elapsed_s": dg.MetadataValue.float(report.elapsed_s),
        "listing": report.listing or "none",
    }
    wh = warehouse.get()
    yield dg.MaterializeResult(
        asset_key=table_key(RECORDINGS),
        metadata={
            **common,
            **table_metadata(wh, RECORDINGS),
            "rows_inserted": dg.MetadataValue.int(report.inserted),
            "rows_updated": dg.MetadataValue.int(report.updated),
            "rows_removed": dg.MetadataValue.int(report.recordings_removed),
            "rows_rejected": dg.MetadataValue.int(report.rejected),
            "details_fetched": dg.MetadataValue.int(report.details_fetched),
            "details_by_reason": dg.MetadataValue.json(report.details_by_reason),
        },
    )
    yield dg.MaterializeResult(
        asset_key=table_key(VIDEOS),
        metadata={
            **common,
            **table_metadata(wh, VIDEOS),
            "videos_written": dg.MetadataValue.int(report.videos_written),
        },
    )
