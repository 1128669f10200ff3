"""IBM asset checks: unique keys, and expirations fresh within the staleness budget."""

from __future__ import annotations

import dagster as dg

from assets_defs.resources import WarehouseResource, primary_key_check

STALENESS_DAYS = 7.0  # the refresh policy's default budget


@dg.asset_check(asset="ibm_videos", description="video_id is unique in raw.ibm_videos")
def ibm_videos_primary_key(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    return primary_key_check(warehouse.get(), "raw.ibm_videos", ["video_id"])


@dg.asset_check(asset="ibm_expirations", description="video_id is unique in raw.ibm_expirations")
def ibm_expirations_primary_key(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    return primary_key_check(warehouse.get(), "raw.ibm_expirations", ["video_id"])


@dg.asset_check(
    asset="ibm_expirations",
    description=f"every listed video's expiration was checked within {STALENESS_DAYS:g} days",
)
def ibm_expirations_fresh(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.get().read() as con:
        live, unchecked, stale, oldest = con.execute(
            f"""
            SELECT count(*),
                   count(*) FILTER (WHERE e.video_id IS NULL),
                   count(*) FILTER (WHERE e.checked_at < now() - INTERVAL {int(STALENESS_DAYS * 24)} HOUR),
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
            "staleness_days": STALENESS_DAYS,
        },
    )
