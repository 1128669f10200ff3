"""Uplynk source: assets, resources, checks and schedule."""

from assets_defs.uplynk.assets import uplynk_sync
from assets_defs.uplynk.checks import uplynk_assets_primary_key, uplynk_changes_primary_key
from assets_defs.uplynk.resources import UplynkResource
from assets_defs.uplynk.schedules import uplynk_every_15_minutes, uplynk_sync_job

assets = [uplynk_sync]
asset_checks = [uplynk_assets_primary_key, uplynk_changes_primary_key]
jobs = [uplynk_sync_job]
schedules = [uplynk_every_15_minutes]
resources = {"uplynk": UplynkResource.from_env()}
