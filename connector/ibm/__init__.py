"""IBM Video Streaming source: token, client, listing + expiration sync, refresh policy,
protect job.

>>> from connector.ibm import sync_ibm
>>> report = sync_ibm()  # doctest: +SKIP  (reads IBM_VIDEO_* and CONNECTOR_* variables)
"""

from __future__ import annotations

from connector.config import IbmSettings
from connector.http import RetryPolicy
from connector.ibm.client import Expiration, IbmApiError, IbmClient
from connector.ibm.listing import ChannelListingError
from connector.ibm.policy import RefreshPlan, RefreshPolicy, plan_refresh
from connector.ibm.protect import (
    ProtectOptions,
    ProtectReport,
    protect_videos,
    select_for_protection,
)
from connector.ibm.sync import IbmReport, IbmSync, SyncOptions
from connector.ibm.token import IbmAuthError
from connector.runtime import run_sync
from connector.warehouse import Warehouse

SyncReport = IbmReport  # the report of one IBM run

__all__ = [
    "ChannelListingError",
    "Expiration",
    "IbmApiError",
    "IbmAuthError",
    "IbmClient",
    "IbmReport",
    "IbmSync",
    "ProtectOptions",
    "ProtectReport",
    "RefreshPlan",
    "RefreshPolicy",
    "SyncOptions",
    "SyncReport",
    "plan_refresh",
    "protect_ibm",
    "select_for_protection",
    "sync_ibm",
]


def sync_ibm(
    settings: IbmSettings | None = None,
    warehouse: Warehouse | None = None,
    options: SyncOptions | None = None,
    *,
    run_id: str | None = None,
    retry: RetryPolicy | None = None,
    timeout: float = 30.0,
    fast_transport: bool = True,
    expiration_rate: float | None = None,
) -> IbmReport:
    """Run one IBM sync (blocking); settings and warehouse default to the environment."""
    settings = settings or IbmSettings.from_env()
    warehouse = warehouse or Warehouse.from_env()
    options = options or SyncOptions()

    async def go() -> IbmReport:
        async with IbmClient(
            settings,
            retry=retry,
            timeout=timeout,
            concurrency=options.concurrency,
            fast_transport=fast_transport,
            expiration_rate=expiration_rate,
        ) as client:
            return await IbmSync(client, warehouse, options, run_id=run_id).run()

    return run_sync(go())


def protect_ibm(
    settings: IbmSettings | None = None,
    warehouse: Warehouse | None = None,
    options: ProtectOptions | None = None,
    *,
    run_id: str | None = None,
    retry: RetryPolicy | None = None,
    timeout: float = 30.0,
) -> ProtectReport:
    """Run the protect job once (blocking). A dry run needs no credentials."""
    warehouse = warehouse or Warehouse.from_env()
    options = options or ProtectOptions()
    if options.dry_run:
        return run_sync(protect_videos(None, warehouse, options, run_id=run_id))
    settings = settings or IbmSettings.from_env()

    async def go() -> ProtectReport:
        async with IbmClient(
            settings, retry=retry, timeout=timeout, concurrency=options.concurrency
        ) as client:
            return await protect_videos(client, warehouse, options, run_id=run_id)

    return run_sync(go())
