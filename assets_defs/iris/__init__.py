"""IRIS.TV source: assets, resource, checks and schedule."""

from assets_defs.iris.assets import iris_sync, media_url_checks
from assets_defs.iris.checks import iris_refresh_rules_held
from assets_defs.iris.resources import IrisResource
from assets_defs.iris.schedules import iris_hourly, iris_sync_job

__all__ = ["IrisResource", "iris_sync", "media_url_checks"]

assets = [iris_sync, media_url_checks]
asset_checks = [iris_refresh_rules_held]
jobs = [iris_sync_job]
schedules = [iris_hourly]
resources = {"iris": IrisResource.from_env()}
