"""IBM assets: the channels' videos, their expirations and its history, synced together."""

from datetime import timedelta

import dagster as dg

from assets_defs.catalog import table_key, table_metadata, table_spec
from assets_defs.ibm.resources import IbmResource
from assets_defs.resources import WarehouseResource, run_or_fail
from connector.ibm import RefreshPolicy, SyncOptions, sync_ibm

GROUP = "ibm"


_DEFAULTS = SyncOptions()
_POLICY = RefreshPolicy()


class IbmSyncConfig(dg.Config):
    """Run config of the IBM sync. The refresh policy: every new video, every video expiring
    within ``horizon_days``, and a rolling share of the rest so that each is re-checked at
    least every ``staleness_days`` when runs come every ``run_interval_hours``."""

    horizon_days: float = _POLICY.horizon_days
    staleness_days: float = _POLICY.staleness_days
    run_interval_hours: float = _POLICY.run_interval_hours
    concurrency: int = _DEFAULTS.concurrency
    pagesize: int = _DEFAULTS.pagesize
    checkpoint_rows: int = _DEFAULTS.checkpoint_rows
    fast_transport: bool = True
    now_ms: int | None = None  # override "now" (simulations); default: the clock


def sync_options(config: IbmSyncConfig) -> SyncOptions:
    return SyncOptions(
        policy=RefreshPolicy(
            horizon_days=config.horizon_days,
            staleness_days=config.staleness_days,
            run_interval_hours=config.run_interval_hours,
        ),
        now_ms=config.now_ms,
        pagesize=config.pagesize,
        concurrency=config.concurrency,
        checkpoint_rows=config.checkpoint_rows,
    )


VIDEOS, EXPIRATIONS, HISTORY = "raw.ibm_videos", "raw.ibm_expirations", "raw.ibm_expiration_history"
KINDS = {"ibm", "duckdb", "parquet"}
FRESH_WITHIN = timedelta(hours=3)  # the schedule runs hourly


@dg.multi_asset(
    name="ibm_sync",
    specs=[
        table_spec(
            VIDEOS,
            group=GROUP,
            kinds=KINDS,
            description="One row per IBM video of the configured channels; removed_at once two "
            "consecutive complete listings no longer show it.",
            fresh_within=FRESH_WITHIN,
        ),
        table_spec(
            EXPIRATIONS,
            group=GROUP,
            kinds=KINDS,
            description="One row per IBM video: its expiration rule as last checked (refreshed "
            "by policy).",
            fresh_within=FRESH_WITHIN,
        ),
        table_spec(
            HISTORY,
            group=GROUP,
            kinds={"ibm", "duckdb"},
            description="One row per observed change of an IBM video's rule, expiry or check "
            "status (by the sync or the protect job).",
            fresh_within=FRESH_WITHIN,
        ),
    ],
)
def ibm_sync(
    context: dg.AssetExecutionContext,
    config: IbmSyncConfig,
    ibm: IbmResource,
    warehouse: WarehouseResource,
):
    """Pages every configured channel's /channels/{id}/videos.json, then checks the
    expirations the refresh policy selects with /videos/{id}/expiration.json, concurrently
    and paced under the vendor's X-RateLimit budget."""
    report = run_or_fail(
        sync_ibm,
        ibm.settings(),
        warehouse.get(),
        sync_options(config),
        run_id=f"ibm-{context.run.run_id[:8]}",
        fast_transport=config.fast_transport,
    )
    by_reason = report.checked_by_reason
    context.log.info(
        f"ibm: {report.videos_listed} videos listed ({report.videos_inserted} new, "
        f"{report.videos_removed} removed); {report.expirations_checked} expirations checked "
        f"(new {by_reason.get('new', 0)}, horizon {by_reason.get('horizon', 0)}, rolling "
        f"{by_reason.get('rolling', 0)}), {report.responses_429} 429s, {report.requests_per_s} req/s"
    )
    common = {
        "requests": dg.MetadataValue.int(report.requests),
        "retries": dg.MetadataValue.int(report.retries),
        "responses_429": dg.MetadataValue.int(report.responses_429),
        "reauths": dg.MetadataValue.int(report.reauths),
        "elapsed_s": dg.MetadataValue.float(report.elapsed_s),
    }
    wh = warehouse.get()
    yield dg.MaterializeResult(
        asset_key=table_key(VIDEOS),
        metadata={
            **common,
            **table_metadata(wh, VIDEOS),
            "videos_listed": dg.MetadataValue.int(report.videos_listed),
            "rows_inserted": dg.MetadataValue.int(report.videos_inserted),
            "rows_updated": dg.MetadataValue.int(report.videos_updated),
            "rows_removed": dg.MetadataValue.int(report.videos_removed),
            "rows_missing_once": dg.MetadataValue.int(report.videos_missing),
            "rows_returned": dg.MetadataValue.int(report.videos_returned),
            "rows_rejected": dg.MetadataValue.int(report.rejected),
            "pages": dg.MetadataValue.int(report.pages),
        },
    )
    yield dg.MaterializeResult(
        asset_key=table_key(HISTORY),
        metadata={
            **table_metadata(wh, HISTORY),
            "expiration_changes": dg.MetadataValue.int(report.expiration_changes),
        },
    )
    yield dg.MaterializeResult(
        asset_key=table_key(EXPIRATIONS),
        metadata={
            **common,
            **table_metadata(wh, EXPIRATIONS),
            "expirations_checked": dg.MetadataValue.int(report.expirations_checked),
            "checked_new": dg.MetadataValue.int(by_reason.get("new", 0)),
            "checked_horizon": dg.MetadataValue.int(by_reason.get("horizon", 0)),
            "checked_rolling": dg.MetadataValue.int(by_reason.get("rolling", 0)),
            "checked_by_status": dg.MetadataValue.json(report.checked_by_status),
            "expiration_changes": dg.MetadataValue.int(report.expiration_changes),
            "expiration_429": dg.MetadataValue.int(report.expiration_429),
            "requests_per_s": dg.MetadataValue.float(report.requests_per_s),
        },
    )
