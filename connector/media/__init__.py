"""Media URLs across systems: expiry read from the URL, tokens removed, and the prober that
finds dead URLs (IRIS source URLs, Uplynk mp4_urls).

>>> from connector.media import probe_media
>>> report = probe_media()  # doctest: +SKIP  (reads CONNECTOR_* variables)
"""

from __future__ import annotations

from connector.media.checks import CHECK_SCHEMA, MEDIA_CHECKS, check_row
from connector.media.probe import STATUSES, MediaProber, ProbeResult
from connector.media.run import ProbeOptions, ProbeReport, run_probe
from connector.media.urls import is_expired, strip_token, url_expiry_ms
from connector.runtime import run_sync
from connector.warehouse import Warehouse

__all__ = [
    "CHECK_SCHEMA",
    "MEDIA_CHECKS",
    "STATUSES",
    "MediaProber",
    "ProbeOptions",
    "ProbeReport",
    "ProbeResult",
    "check_row",
    "is_expired",
    "probe_media",
    "strip_token",
    "url_expiry_ms",
]


def probe_media(
    warehouse: Warehouse | None = None,
    options: ProbeOptions | None = None,
    *,
    run_id: str | None = None,
) -> ProbeReport:
    """Probe the media URLs stored in the warehouse (blocking); see :mod:`.run`."""
    warehouse = warehouse or Warehouse.from_env()
    return run_sync(run_probe(warehouse, options, run_id=run_id))
