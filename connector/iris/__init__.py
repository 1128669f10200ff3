"""IRIS.TV source: Watch resolution and recommendations, the IRIS_ID data API, source URL
probes and refreshes under the vendor's rules.

>>> from connector.iris import sync_iris
>>> report = sync_iris()  # doctest: +SKIP  (reads IRIS_* and CONNECTOR_* variables)
"""

from __future__ import annotations

from connector.config import IrisSettings
from connector.http import RetryPolicy
from connector.iris.auth import IrisAuthError
from connector.iris.client import IrisApiError, IrisClient, RefreshAnswer, WatchResult
from connector.iris.jsonp import JsonpDocument, PseudoJsonError, parse_jsonp
from connector.iris.policy import Plan, RollingPolicy, plan
from connector.iris.state import IrisReport, SyncOptions
from connector.iris.sync import IrisSync, IrisSyncError
from connector.media import ProbeOptions, ProbeReport, probe_media
from connector.runtime import run_sync
from connector.warehouse import Warehouse

SyncReport = IrisReport  # the report of one IRIS run

__all__ = [
    "IrisApiError",
    "IrisAuthError",
    "IrisClient",
    "IrisReport",
    "IrisSync",
    "IrisSyncError",
    "JsonpDocument",
    "Plan",
    "ProbeOptions",
    "ProbeReport",
    "PseudoJsonError",
    "RefreshAnswer",
    "RollingPolicy",
    "SyncOptions",
    "SyncReport",
    "WatchResult",
    "parse_jsonp",
    "plan",
    "probe_media",
    "sync_iris",
]


def sync_iris(
    settings: IrisSettings | None = None,
    warehouse: Warehouse | None = None,
    options: SyncOptions | None = None,
    *,
    run_id: str | None = None,
    retry: RetryPolicy | None = None,
    timeout: float = 30.0,
    fast_transport: bool = True,
) -> IrisReport:
    """Run one IRIS sync (blocking); settings and warehouse default to the environment.
    ``fast_transport``: httpx over aiohttp, like the VALT sync (about half the CPU per Watch
    call of httpx's own transport, bench/iris_probe.py)."""
    settings = settings or IrisSettings.from_env()
    warehouse = warehouse or Warehouse.from_env()
    options = options or SyncOptions()

    async def go() -> IrisReport:
        async with IrisClient(
            settings,
            retry=retry,
            timeout=timeout,
            concurrency=options.concurrency,
            user_id=options.user_id,
            fast_transport=fast_transport,
        ) as client:
            return await IrisSync(client, warehouse, options, run_id=run_id).run()

    return run_sync(go())
