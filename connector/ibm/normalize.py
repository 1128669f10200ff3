"""IBM video and expiration records -> Arrow rows with an explicit schema.

A record that does not fit is never coerced: it becomes a
:class:`~connector.warehouse.Reject` with the reason. Ids stay strings (numeric strings,
as IBM sends them). Numbers follow the shared rule of :mod:`connector.records`:
``length`` (a string of seconds in the API) becomes DOUBLE and may not be negative; the
Unix second epochs ``created_at`` / ``added_at`` become TIMESTAMPTZ when between 2000 and
2100, and 0 means "not set" (NULL).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import pyarrow as pa

from connector.ibm.client import Expiration
from connector.records import epoch_ms, optional_number, optional_str
from connector.timeutil import TIMESTAMP
from connector.warehouse import Reject

VIDEOS_STREAM = "ibm_videos"
EXPIRATIONS_STREAM = "ibm_expirations"

VIDEO_SCHEMA = pa.schema(
    [
        ("video_id", pa.string()),
        ("channel_id", pa.string()),
        ("title", pa.string()),
        ("length_s", pa.float64()),
        ("created_at", TIMESTAMP),
        ("added_at", TIMESTAMP),
        ("protect", pa.string()),
    ]
)
EXPIRATION_SCHEMA = pa.schema(
    [
        ("video_id", pa.string()),
        ("rule", pa.string()),
        ("expires_at", TIMESTAMP),
        ("check_status", pa.string()),
        ("checked_at", TIMESTAMP),
    ]
)

_VIDEO_ID = re.compile(r"[0-9]{1,20}")


def valid_video_id(value: object) -> bool:
    return isinstance(value, str) and _VIDEO_ID.fullmatch(value) is not None


def video_row(record: Any, channel_id: str) -> tuple:
    """One IBM video dict as a tuple in :data:`VIDEO_SCHEMA` order; ValueError if invalid."""
    if not isinstance(record, dict):
        raise ValueError(f"video is not an object: {type(record).__name__}")
    video_id = record.get("id")
    if not valid_video_id(video_id):
        raise ValueError(f"id is missing or not a numeric string: {video_id!r}")
    return (
        video_id,
        str(channel_id),
        optional_str(record, "title"),
        optional_number(record, "length", minimum=0),
        epoch_ms(record.get("created_at"), "created_at", unit="s"),
        epoch_ms(record.get("added_at"), "added_at", unit="s"),
        optional_str(record, "protect"),
    )


def normalize_videos(records: Iterable[Any], channel_id: str) -> tuple[list[tuple], list[Reject]]:
    rows: list[tuple] = []
    rejects: list[Reject] = []
    for record in records:
        try:
            rows.append(video_row(record, channel_id))
        except ValueError as exc:
            rid = record.get("id") if isinstance(record, dict) else None
            rejects.append(Reject(None if rid is None else str(rid), str(exc), record))
    return rows, rejects


def expiration_row(exp: Expiration, checked_at_ms: int) -> tuple:
    return (
        exp.video_id,
        exp.rule,
        None if exp.expires_at is None else int(exp.expires_at) * 1000,
        exp.status,
        int(checked_at_ms),
    )
