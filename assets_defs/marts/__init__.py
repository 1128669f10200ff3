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
        return dg.MaterializeResult(metadata={**table_metadata(wh, view), **preview(wh, view)})

    return _view


def preview(warehouse, view: str, rows: int = 5) -> dict[str, dg.MetadataValue]:
    """The first rows of ``view`` as a Markdown table (for the asset page)."""
    table = warehouse.query_arrow(f"SELECT * FROM {view} LIMIT {int(rows)}")
    names = table.column_names
    lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
    for row in table.to_pylist():
        lines.append("| " + " | ".join("" if row[c] is None else str(row[c]) for c in names) + " |")
    return {"preview": dg.MetadataValue.md("\n".join(lines))}


def _no_expired_rows(view: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=table_key(view),
        name="rows_end_within_the_horizon",
        description="every row ends in the future, within the 14-day horizon",
    )
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        bad = warehouse.get().query(
            f"SELECT count(*) FROM {view} WHERE ends_at IS NULL OR ends_at <= now() "
            "OR ends_at > now() + INTERVAL 14 DAY"
        )[0][0]
        return dg.AssetCheckResult(passed=bad == 0, metadata={"rows_out_of_window": int(bad)})

    return _check


def _one_row_per(view: str, grain: str) -> dg.AssetChecksDefinition:
    """The grain the mart's .sql header declares holds: no key twice, no key NULL."""

    @dg.asset_check(
        asset=table_key(view),
        name="one_row_per_" + grain.replace(", ", "_and_"),
        description=f"one row per ({grain}), none with a NULL key",
    )
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        nulls = " OR ".join(f"{c} IS NULL" for c in grain.split(", "))
        dupes, null_keys = warehouse.get().query(
            f"SELECT (SELECT count(*) FROM (SELECT {grain} FROM {view} GROUP BY ALL "
            f"HAVING count(*) > 1)), (SELECT count(*) FROM {view} WHERE {nulls})"
        )[0]
        return dg.AssetCheckResult(
            passed=dupes == 0 and null_keys == 0,
            metadata={"duplicate_keys": int(dupes), "null_keys": int(null_keys)},
        )

    return _check


XREF = "core.asset_xref"
assets = [
    view_asset(
        "marts.assets_expiring_soon",
        [XREF, "raw.uplynk_assets", "raw.ibm_expirations", "raw.ibm_videos", "raw.valt_recordings"],
        "One row per record, in any system, whose end (IBM expiry, Uplynk autoexpire, VALT "
        "retention) falls within 14 days; where else it lives, IRIS recommendation, protection. "
        "Any horizon: SELECT * FROM marts.expiring_within(30).",
        build=True,
    ),
    view_asset(
        "marts.dead_source_urls",
        [XREF, "raw.media_url_checks", "raw.iris_assets", "raw.uplynk_assets"],
        "One row per media URL that does not play (IRIS source URLs, Uplynk mp4_urls): its "
        "canonical asset, why (404, 410, 403, timeout, expired token, refresh gave up, "
        "NOT_AVAILABLE), since when, the refresh state, and whether IRIS still recommends it.",
        build=True,
    ),
    view_asset(
        "marts.catalog_coverage",
        [XREF, "raw.uplynk_assets", "raw.ibm_videos", "raw.valt_recordings", "raw.iris_assets"],
        "One row per canonical asset: its state in each system; orphans flagged.",
        build=True,
    ),
    view_asset(
        "marts.recommendations_to_unplayable",
        [XREF, "marts.dead_source_urls", "raw.iris_recommendations"],
        "One row per IRIS recommendation (latest snapshots) pointing at content that is "
        "deleted, past its end, or whose URL is dead.",
        build=True,
    ),
    view_asset(
        "core.ibm_live_elsewhere",
        [XREF, "raw.uplynk_assets"],
        "IBM videos whose canonical asset has a live Uplynk asset (the protect job's input).",
        build=False,
    ),
]
asset_checks = [
    _no_expired_rows("marts.assets_expiring_soon"),
    _one_row_per("marts.dead_source_urls", "system, asset_id"),
    _one_row_per("marts.catalog_coverage", "canonical_id"),
    _one_row_per("marts.recommendations_to_unplayable", "seed_platform_id, rank"),
]
jobs: list = []
schedules: list = []
resources: dict = {}
