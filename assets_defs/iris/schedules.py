"""Hourly IRIS sync and media probe."""

import dagster as dg

iris_sync_job = dg.define_asset_job(
    "iris_sync_job",
    selection=dg.AssetSelection.groups("iris"),
    description="IRIS sync (Watch resolution, data API, refresh ledger) and the media probe.",
)

iris_hourly = dg.ScheduleDefinition(
    name="iris_hourly",
    job=iris_sync_job,
    cron_schedule="45 * * * *",
    description="Hourly: rolling re-resolution within a day, media URLs re-probed.",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
