"""Uplynk asset checks: keys are unique (the warehouse has no PK constraints)."""

import dagster as dg

from assets_defs.catalog import table_key
from assets_defs.resources import WarehouseResource, primary_key_check


@dg.asset_check(
    asset=table_key("raw.uplynk_assets"), description="asset_id is unique in raw.uplynk_assets"
)
def uplynk_assets_primary_key(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    return primary_key_check(warehouse.get(), "raw.uplynk_assets", ["asset_id"])


@dg.asset_check(
    asset=table_key("raw.uplynk_changes"), description="(change_ts, action, asset_id) is unique"
)
def uplynk_changes_primary_key(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    return primary_key_check(
        warehouse.get(), "raw.uplynk_changes", ["change_ts", "action", "asset_id"]
    )
