"""VALT asset checks: unique keys; no stored URL carries its access token."""

import dagster as dg

from assets_defs.catalog import table_key
from assets_defs.resources import WarehouseResource, primary_key_check


@dg.asset_check(asset=table_key("raw.valt_recordings"), description="record_id is unique")
def valt_recordings_primary_key(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    return primary_key_check(warehouse.get(), "raw.valt_recordings", ["record_id"])


@dg.asset_check(asset=table_key("raw.valt_videos"), description="(record_id, video_id) is unique")
def valt_videos_primary_key(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    return primary_key_check(warehouse.get(), "raw.valt_videos", ["record_id", "video_id"])


@dg.asset_check(
    asset=table_key("raw.valt_videos"), description="no stored URL carries an access_token"
)
def valt_urls_without_tokens(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    n = warehouse.get().query(
        "SELECT count(*) FROM raw.valt_videos WHERE url ILIKE '%access_token=%'"
    )[0][0]
    return dg.AssetCheckResult(passed=n == 0, metadata={"urls_with_token": int(n)})
