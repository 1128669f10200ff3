"""Marts and core views: analyst-facing views over the raw tables (groups `marts`, `core`).

Each updates itself when its inputs do (``AutomationCondition.eager()``: the daemon that
``make dev`` starts is enough), so the source schedules keep every view current.
"""

import dagster as dg

from assets_defs.catalog import OWNERS, table_key, table_metadata
from assets_defs.resources import WarehouseResource
from connector.marts import build_mart


def view_asset(view: str, deps: list[str], description: str, build: bool) -> dg.AssetsDefinition:
    """The asset of ``view`` (``schema.name``); ``build`` (re)creates a mart from its .sql
    file, otherwise the view comes from a migration and materializing reports it."""
    schema, name = view.split(".")

    @dg.asset(
        key=table_key(view),
        group_name=schema,
        deps=[table_key(d) for d in deps],
        kinds={"duckdb", "sql"},
        owners=OWNERS,
        description=description,
        metadata={"dagster/table_name": view},
        automation_condition=dg.AutomationCondition.eager(),
    )
    def _view(warehouse: WarehouseResource) -> dg.MaterializeResult:
        wh = warehouse.get()
        if build:
            build_mart(wh, name)
        return dg.MaterializeResult(metadata=table_metadata(wh, view))

    return _view


def _no_expired_rows(view: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=table_key(view),
        description="every row expires in the future, within 30 days",
    )
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        bad = warehouse.get().query(
            f"SELECT count(*) FROM {view} WHERE expires_at IS NULL OR expires_at <= now() "
            "OR expires_at > now() + INTERVAL 30 DAY"
        )[0][0]
        return dg.AssetCheckResult(passed=bad == 0, metadata={"rows_out_of_window": int(bad)})

    return _check


assets = [
    view_asset(
        "marts.assets_expiring_soon",
        ["raw.uplynk_assets", "raw.ibm_expirations", "raw.ibm_videos"],
        "One row per asset, in any source system, that expires within the next 30 days.",
        build=True,
    ),
    view_asset(
        "core.ibm_live_elsewhere",
        ["raw.ibm_videos", "raw.uplynk_assets"],
        "IBM videos live in Uplynk by normalised title (interim match; the protect job's input).",
        build=False,
    ),
]
asset_checks = [_no_expired_rows("marts.assets_expiring_soon")]
jobs: list = []
schedules: list = []
resources: dict = {}
