"""IBM asset checks: unique keys, and expirations fresh within the staleness budget."""

import dagster as dg

from assets_defs.catalog import table_key
from assets_defs.resources import WarehouseResource, primary_key_check

STALENESS_DAYS = 7.0  # the refresh policy's default budget


class FreshnessConfig(dg.Config):
    """Set to the same budget as the ibm_sync run config's ``staleness_days``."""

    staleness_days: float = STALENESS_DAYS


@dg.asset_check(
    asset=table_key("raw.ibm_videos"), description="video_id is unique in raw.ibm_videos"
)
def ibm_videos_primary_key(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    return primary_key_check(warehouse.get(), "raw.ibm_videos", ["video_id"])


@dg.asset_check(
    asset=table_key("raw.ibm_expirations"), description="video_id is unique in raw.ibm_expirations"
)
def ibm_expirations_primary_key(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    return primary_key_check(warehouse.get(), "raw.ibm_expirations", ["video_id"])


@dg.asset_check(
    asset=table_key("raw.ibm_expirations"),
    description="every listed video's expiration was checked within the staleness budget (7 days)",
)
def ibm_expirations_fresh(
    config: FreshnessConfig, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    with warehouse.get().read() as con:
        live, unchecked, stale, oldest = con.execute(
            f"""
            SELECT count(*),
                   count(*) FILTER (WHERE e.video_id IS NULL),
                   count(*) FILTER (WHERE e.checked_at < now() - INTERVAL {int(config.staleness_days * 24)} HOUR),
                   min(e.checked_at)
            FROM raw.ibm_videos AS v LEFT JOIN raw.ibm_expirations AS e USING (video_id)
            WHERE v.removed_at IS NULL
            """
        ).fetchone()
    return dg.AssetCheckResult(
        passed=unchecked == 0 and stale == 0,
        metadata={
            "listed_videos": int(live),
            "never_checked": int(unchecked),
            "stale": int(stale),
            "oldest_check": str(oldest),
            "staleness_days": config.staleness_days,
        },
    )
