"""Uplynk source: signed client, normalisation and the incremental sync.

>>> from connector.uplynk import sync_uplynk
>>> report = sync_uplynk()  # doctest: +SKIP  (reads UPLYNK_* and CONNECTOR_* variables)
"""

from __future__ import annotations

from connector.config import UplynkSettings
from connector.http import RetryPolicy
from connector.runtime import run_sync
from connector.uplynk.client import UplynkApiError, UplynkClient
from connector.uplynk.state import SyncOptions, UplynkReport
from connector.uplynk.sync import UplynkSync
from connector.warehouse import Warehouse

SyncReport = UplynkReport  # the report of one Uplynk run

__all__ = [
    "SyncOptions",
    "SyncReport",
    "UplynkApiError",
    "UplynkClient",
    "UplynkReport",
    "UplynkSync",
    "sync_uplynk",
]


def sync_uplynk(
    settings: UplynkSettings | None = None,
    warehouse: Warehouse | None = None,
    options: SyncOptions | None = None,
    *,
    run_id: str | None = None,
    retry: RetryPolicy | None = None,
    timeout: float = 30.0,
    fast_transport: bool = True,
) -> UplynkReport:
    """Run one Uplynk sync (blocking); settings and warehouse default to the environment."""
    settings = settings or UplynkSettings.from_env()
    warehouse = warehouse or Warehouse.from_env()
    options = options or SyncOptions()

    async def go() -> UplynkReport:
        async with UplynkClient(
            settings,
            retry=retry,
            timeout=timeout,
            concurrency=options.list_concurrency,
            fast_transport=fast_transport,
        ) as client:
            return await UplynkSync(client, warehouse, options, run_id=run_id).run()

    return run_sync(go())
