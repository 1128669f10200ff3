"""protect_expiring_videos: set rule=never on IBM videos that must not be deleted.

Dry run by default (logs and records what it would change in meta.ibm_protect_actions);
run it for real with ``dry_run: false`` in the op config.
"""

import dagster as dg

from assets_defs.ibm.resources import IbmResource
from assets_defs.resources import WarehouseResource, run_or_fail
from connector.ibm import ProtectOptions, protect_ibm

_DEFAULTS = ProtectOptions()


class ProtectConfig(dg.Config):
    """Run config of the protect job (defaults are ``connector.ibm.ProtectOptions``'s)."""

    dry_run: bool = _DEFAULTS.dry_run
    within_days: float = _DEFAULTS.within_days
    concurrency: int = _DEFAULTS.concurrency
    now_ms: int | None = None  # override "now" (simulations); default: the clock


AFFECTED_SQL = """
SELECT video_id, reason, result, rule_before, CAST(expires_at_before AS VARCHAR)
FROM meta.ibm_protect_actions WHERE run_id = $run_id ORDER BY expires_at_before, video_id
LIMIT 500
"""
_AFFECTED_COLUMNS = ("video_id", "reason", "result", "rule_before", "expires_at_before")


def affected_videos(warehouse, run_id: str) -> dg.TableMetadataValue:
    """The run's audit rows (first 500) as a table in the run's metadata."""
    rows = warehouse.query(AFFECTED_SQL, {"run_id": run_id})
    return dg.MetadataValue.table(
        records=[dg.TableRecord(dict(zip(_AFFECTED_COLUMNS, r, strict=True))) for r in rows],
        schema=dg.TableSchema(columns=[dg.TableColumn(c, "string") for c in _AFFECTED_COLUMNS]),
    )


@dg.op(out=dg.Out(dict))
def protect_expiring_videos_op(
    context: dg.OpExecutionContext,
    config: ProtectConfig,
    ibm: IbmResource,
    warehouse: WarehouseResource,
):
    """Selects videos expiring within ``within_days`` that are live in Uplynk
    (core.ibm_live_elsewhere, from core.asset_xref) or requested in meta.ibm_protect_requests, and sets
    rule=never on each (audit trail in meta.ibm_protect_actions)."""
    options = ProtectOptions(
        within_days=config.within_days,
        dry_run=config.dry_run,
        concurrency=config.concurrency,
        now_ms=config.now_ms,
    )
    settings = None if config.dry_run else ibm.settings()
    report = run_or_fail(
        protect_ibm,
        settings,
        warehouse.get(),
        options,
        run_id=f"ibm-protect-{context.run.run_id[:8]}",
    )
    context.log.info(
        f"ibm protect ({'dry run' if report.dry_run else 'real run'}): {report.selected} selected "
        f"{report.by_reason}; results {report.results}"
    )
    yield dg.Output(
        report.as_dict(),
        metadata={
            "dry_run": report.dry_run,
            "selected": dg.MetadataValue.int(report.selected),
            "by_reason": dg.MetadataValue.json(report.by_reason),
            "results": dg.MetadataValue.json(report.results),
            "requests": dg.MetadataValue.int(report.requests),
            "videos": affected_videos(warehouse.get(), report.run_id),
        },
    )


@dg.job(
    description="Set rule=never on IBM videos expiring soon that are still live elsewhere, "
    "or requested by a user. Dry run unless configured otherwise."
)
def protect_expiring_videos():
    protect_expiring_videos_op()
