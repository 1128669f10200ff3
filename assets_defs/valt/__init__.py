"""VALT source: assets, resources, checks, schedule and the archive job."""

from assets_defs.valt.assets import ValtSyncConfig, valt_sync
from assets_defs.valt.checks import (
    valt_recordings_primary_key,
    valt_urls_without_tokens,
    valt_videos_primary_key,
)
from assets_defs.valt.jobs import ArchiveConfig, archive_expiring_recordings
from assets_defs.valt.resources import ValtResource
from assets_defs.valt.schedules import valt_hourly, valt_sync_job

__all__ = ["ArchiveConfig", "ValtResource", "ValtSyncConfig", "valt_sync"]

assets = [valt_sync]
asset_checks = [valt_recordings_primary_key, valt_videos_primary_key, valt_urls_without_tokens]
jobs = [valt_sync_job, archive_expiring_recordings]
schedules = [valt_hourly]
resources = {"valt": ValtResource.from_env()}
