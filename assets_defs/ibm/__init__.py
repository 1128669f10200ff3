"""IBM Video Streaming source: assets, resources, checks, schedule and the protect job."""

from assets_defs.ibm.assets import IbmSyncConfig, ibm_sync
from assets_defs.ibm.checks import (
    ibm_expirations_fresh,
    ibm_expirations_primary_key,
    ibm_videos_primary_key,
)
from assets_defs.ibm.jobs import ProtectConfig, protect_expiring_videos
from assets_defs.ibm.resources import IbmResource
from assets_defs.ibm.schedules import ibm_hourly, ibm_sync_job

__all__ = ["IbmResource", "IbmSyncConfig", "ProtectConfig", "ibm_sync"]

assets = [ibm_sync]
asset_checks = [ibm_videos_primary_key, ibm_expirations_primary_key, ibm_expirations_fresh]
jobs = [ibm_sync_job, protect_expiring_videos]
schedules = [ibm_hourly]
resources = {"ibm": IbmResource.from_env()}
