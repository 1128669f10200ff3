"""Hourly VALT sync (details re-read by policy; a full sweep daily)."""

import dagster as dg

valt_sync_job = dg.define_asset_job(
    "valt_sync_job",
    selection=dg.AssetSelection.groups("valt"),
    description="VALT sync: recordings listing, then the details the policy selects.",
)

valt_hourly = dg.ScheduleDefinition(
    name="valt_hourly",
    job=valt_sync_job,
    cron_schedule="30 * * * *",
    description="Hourly: the refresh policy's default run interval.",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
