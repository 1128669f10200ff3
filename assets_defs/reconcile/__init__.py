"""Reconciliation: core/asset_xref (which records of the four systems are the same content),
updated when any source table changes, with blocking checks that run before the marts."""

import dagster as dg

from assets_defs.catalog import OWNERS, column_schema, table_key, table_metadata
from assets_defs.resources import WarehouseResource, run_or_fail
from connector.reconcile import ReconcileOptions, reconcile

XREF = "core.asset_xref"
SOURCES = ["raw.uplynk_assets", "raw.ibm_videos", "raw.valt_recordings", "raw.iris_assets"]
MAX_CONFLICT_SHARE = 0.05  # undecided records above this share of all records fail the check


class ReconcileConfig(dg.Config):
    """``full``: re-match every record (the rules file changed, or a suspected bad state)."""

    full: bool = False


@dg.asset(
    key=table_key(XREF),
    group_name="reconcile",
    deps=[table_key(t) for t in SOURCES],
    kinds={"duckdb", "sql"},
    owners=OWNERS,
    description="One row per record of every system with its canonical content id: exact "
    "key rules first, then title/duration/date matching with blocking; ambiguous cases go "
    "to core.xref_conflicts, never guessed.",
    metadata={"dagster/table_name": XREF, "dagster/column_schema": column_schema(XREF)},
    automation_condition=dg.AutomationCondition.eager(),
)
def asset_xref(
    context: dg.AssetExecutionContext, config: ReconcileConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    wh = warehouse.get()
    report = run_or_fail(
        reconcile, wh, ReconcileOptions(full=config.full), run_id=f"xref-{context.run.run_id[:8]}"
    )
    context.log.info(
        f"reconcile: {report.records} records ({report.dirty} re-matched), {report.clusters} "
        f"canonical assets, {report.conflicts} conflicts; links {report.links}"
    )
    return dg.MaterializeResult(
        metadata={
            **table_metadata(wh, XREF),
            "records_rematched": dg.MetadataValue.int(report.dirty),
            "canonical_assets": dg.MetadataValue.int(report.clusters),
            "conflicts": dg.MetadataValue.int(report.conflicts),
            "links_by_rule": dg.MetadataValue.json(report.links),
            "systems": dg.MetadataValue.json(report.systems),
        }
    )


@dg.asset_check(
    asset=table_key(XREF),
    blocking=True,
    description="no record of any system sits in two canonical assets",
)
def xref_one_canonical_id_per_record(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    n = warehouse.get().query(
        "SELECT count(*) FROM (SELECT system, system_id FROM core.asset_xref "
        "GROUP BY ALL HAVING count(DISTINCT canonical_id) > 1)"
    )[0][0]
    return dg.AssetCheckResult(passed=n == 0, metadata={"records_in_two_assets": int(n)})


@dg.asset_check(
    asset=table_key(XREF),
    blocking=True,
    description=f"undecided records (core.xref_conflicts) stay under {MAX_CONFLICT_SHARE:.0%}",
)
def xref_conflicts_below_threshold(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    records, undecided = warehouse.get().query(
        "SELECT (SELECT count(*) FROM core.asset_xref), "
        "(SELECT count(DISTINCT (system, system_id)) FROM core.xref_conflicts)"
    )[0]
    share = undecided / records if records else 0.0
    return dg.AssetCheckResult(
        passed=share <= MAX_CONFLICT_SHARE,
        metadata={"undecided": int(undecided), "records": int(records), "share": share},
    )


assets = [asset_xref]
asset_checks = [xref_one_canonical_id_per_record, xref_conflicts_below_threshold]
jobs: list = []
schedules: list = []
resources: dict = {}
