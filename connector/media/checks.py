"""Rows of ``raw.media_url_checks``: the last probe of each media URL, one per
(system, asset_id).

``system`` names whose URL it is (``iris`` for an IRIS source URL keyed by iris_id,
``uplynk`` for an Uplynk ``mp4_url`` keyed by asset_id). ``url`` and ``final_url`` are
stored with their token removed; ``expires_at`` is the expiry read from the URL.
"""

from __future__ import annotations

import pyarrow as pa

from connector.kit import TableSpec
from connector.media.probe import ProbeResult
from connector.media.urls import strip_token
from connector.timeutil import TIMESTAMP

CHECKS_STREAM = "media_url_checks"
SYSTEMS = ("iris", "uplynk")
CHECK_SCHEMA = pa.schema(
    [
        ("system", pa.string()),
        ("asset_id", pa.string()),
        ("url", pa.string()),
        ("status", pa.string()),
        ("reason", pa.string()),
        ("http_status", pa.int32()),
        ("expires_at", TIMESTAMP),
        ("final_url", pa.string()),
        ("checked_at", TIMESTAMP),
    ]
)
MEDIA_CHECKS = TableSpec(
    CHECKS_STREAM, "raw.media_url_checks", ("system", "asset_id"), CHECK_SCHEMA
)


def check_row(system: str, asset_id: str, url: str, result: ProbeResult, checked_ms: int) -> tuple:
    """One raw.media_url_checks row in :data:`CHECK_SCHEMA` order (``url`` may still
    carry its token: it is removed here)."""
    if system not in SYSTEMS:
        raise ValueError(f"unknown system {system!r}")
    return (
        system,
        asset_id,
        strip_token(url),
        result.status,
        result.reason,
        result.http_status,
        result.expires_at_ms,
        result.final_url,
        checked_ms,
    )


__all__ = ["CHECKS_STREAM", "CHECK_SCHEMA", "MEDIA_CHECKS", "SYSTEMS", "check_row"]
