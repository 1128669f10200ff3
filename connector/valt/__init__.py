"""VALT (IPIVS) source: login, recordings listing + details sync, download URLs, archive job.

>>> from connector.valt import sync_valt, archive_valt
>>> report = sync_valt()  # doctest: +SKIP  (reads VALT_* and CONNECTOR_* variables)
>>> archive_valt(options=ArchiveOptions(within_days=7))  # doctest: +SKIP  (dry run)
"""

from __future__ import annotations

from connector.config import ValtSettings
from connector.http import RetryPolicy
from connector.runtime import run_sync
from connector.valt.archive import (
    ArchiveJob,
    ArchiveOptions,
    ArchiveReport,
    ValtArchiveError,
    archive_videos,
)
from connector.valt.auth import ValtAuthError
from connector.valt.client import MintedUrl, ValtApiError, ValtClient, ValtShapeError
from connector.valt.details import ValtDetailsError
from connector.valt.download import DownloadError
from connector.valt.listing import ValtListingError
from connector.valt.policy import DetailsPlan, DetailsPolicy, plan_details
from connector.valt.state import SyncOptions, ValtReport
from connector.valt.sync import ValtSync
from connector.warehouse import Warehouse

SyncReport = ValtReport  # the report of one VALT run

__all__ = [
    "ArchiveJob",
    "ArchiveOptions",
    "ArchiveReport",
    "DetailsPlan",
    "DetailsPolicy",
    "DownloadError",
    "MintedUrl",
    "SyncOptions",
    "SyncReport",
    "ValtApiError",
    "ValtArchiveError",
    "ValtAuthError",
    "ValtClient",
    "ValtDetailsError",
    "ValtListingError",
    "ValtReport",
    "ValtShapeError",
    "ValtSync",
    "archive_valt",
    "plan_details",
    "sync_valt",
]


def sync_valt(
    settings: ValtSettings | None = None,
    warehouse: Warehouse | None = None,
    options: SyncOptions | None = None,
    *,
    run_id: str | None = None,
    retry: RetryPolicy | None = None,
    timeout: float = 30.0,
    fast_transport: bool = True,
) -> ValtReport:
    """Run one VALT sync (blocking); settings and warehouse default to the environment."""
    settings = settings or ValtSettings.from_env()
    warehouse = warehouse or Warehouse.from_env()
    options = options or SyncOptions()

    async def go() -> ValtReport:
        async with ValtClient(
            settings,
            retry=retry,
            timeout=timeout,
            concurrency=options.details_concurrency,
            fast_transport=fast_transport,
        ) as client:
            return await ValtSync(client, warehouse, options, run_id=run_id).run()

    return run_sync(go())


def archive_valt(
    settings: ValtSettings | None = None,
    warehouse: Warehouse | None = None,
    options: ArchiveOptions | None = None,
    *,
    run_id: str | None = None,
    retry: RetryPolicy | None = None,
    timeout: float = 30.0,
) -> ArchiveReport:
    """Run the archive job once (blocking). A dry run (the default) needs no credentials
    and makes no API call."""
    warehouse = warehouse or Warehouse.from_env()
    options = options or ArchiveOptions()
    if options.dry_run:
        return run_sync(archive_videos(None, warehouse, options, run_id=run_id))
    settings = settings or ValtSettings.from_env()

    async def go() -> ArchiveReport:
        async with ValtClient(settings, retry=retry, timeout=timeout) as client:
            return await archive_videos(client, warehouse, options, run_id=run_id)

    return run_sync(go())
