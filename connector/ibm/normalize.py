"""IBM video and expiration records -> Arrow rows with an explicit schema.

A record that does not fit is never coerced: it becomes a
:class:`~connector.warehouse.Reject` with the reason. Normalisations (documented in the
data dictionary): ``length`` is a string of seconds in the API and becomes DOUBLE; Unix
second epochs become TIMESTAMPTZ; an epoch 0 / empty means "not set" (NULL).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import pyarrow as pa

from connector.ibm.client import Expiration
from connector.records import optional_str
from connector.timeutil import TIMESTAMP, seconds_to_ms
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


def _length(value: object) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"length is not a number of seconds: {value!r}")
    try:
        out = float(value)  # the API sends a string of seconds
    except (TypeError, ValueError):
        raise ValueError(f"length is not a number of seconds: {value!r}") from None
    if not out >= 0:
        raise ValueError(f"length is negative or NaN: {value!r}")
    return out


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
        _length(record.get("length")),
        seconds_to_ms(record.get("created_at")),
        seconds_to_ms(record.get("added_at")),
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
