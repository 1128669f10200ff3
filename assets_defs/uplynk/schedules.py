"""Incremental Uplynk sync every 15 minutes (the vendor keeps deletions for 6 h)."""

import dagster as dg

uplynk_sync_job = dg.define_asset_job(
    "uplynk_sync_job",
    selection=dg.AssetSelection.groups("uplynk"),
    description="Incremental Uplynk sync: change feed from the cursor, listing when needed.",
)

uplynk_every_15_minutes = dg.ScheduleDefinition(
    name="uplynk_every_15_minutes",
    job=uplynk_sync_job,
    cron_schedule="*/15 * * * *",
    description="Every 15 minutes: well inside the vendor's 6 h delete-retention window.",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
