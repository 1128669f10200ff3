"""Marts: analyst-facing views over the raw tables (group `marts`)."""

import dagster as dg

from assets_defs.resources import WarehouseResource
from connector.marts import build_mart

GROUP = "marts"


def mart_asset(name: str, deps: list[str], description: str) -> dg.AssetsDefinition:
    @dg.asset(
        name=name,
        group_name=GROUP,
        deps=deps,
        kinds={"duckdb", "sql"},
        description=description,
        metadata={"dagster/table_name": f"marts.{name}"},
    )
    def _mart(warehouse: WarehouseResource) -> dg.MaterializeResult:
        rows = build_mart(warehouse.get(), name)
        return dg.MaterializeResult(metadata={"rows": dg.MetadataValue.int(rows)})

    return _mart


assets = [
    mart_asset(
        "assets_expiring_soon",
        ["uplynk_assets", "ibm_expirations"],
        "One row per asset, in any source system, that expires within the next 30 days.",
    ),
]
asset_checks: list = []
jobs: list = []
schedules: list = []
resources: dict = {}
