"""Hourly IBM sync (the refresh policy's default run interval)."""

import dagster as dg

ibm_sync_job = dg.define_asset_job(
    "ibm_sync_job",
    selection=dg.AssetSelection.groups("ibm"),
    description="IBM sync: every channel's listing, then the expirations the policy selects.",
)

ibm_hourly = dg.ScheduleDefinition(
    name="ibm_hourly",
    job=ibm_sync_job,
    cron_schedule="0 * * * *",
    description="Hourly: the refresh policy's default run interval.",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
