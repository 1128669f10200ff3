"""VALT recordings -> Arrow rows with an explicit schema; a record that does not fit is a
reject with its reason, never coerced.

* Ids are text: VALT 6 sends UUID strings, VALT 5 integers (a JSON number): both are kept
  as the same text the API uses in its paths (``12345``). An id must be a non-negative
  integer or a string of letters, digits, ``-``, ``_`` and ``.`` (no ``..``): it becomes
  part of URLs and, for videos, of file names in the archive.
* Numbers and epochs follow :mod:`connector.records`: ``created`` and ``retention.until``
  are Unix seconds between 2000 and 2100; ``duration`` may not be negative.
* ``retention_until``: ``until`` -> ``until``; ``for`` -> ``created`` + days*86400 +
  hours*3600 + minutes*60 (an absent part is 0); ``infinitely`` and ``inherit`` -> NULL
  (the system policy an ``inherit`` follows is not exposed by the API). Any other type is a
  reject.
* ``listed_hash``: a digest of the fields the list shows (:data:`LISTED_KEYS`), as the
  details served them; the walk compares it with the listing's to see which recordings
  changed.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import orjson
import pyarrow as pa

from connector.records import epoch_ms, number, optional_number, optional_str
from connector.timeutil import TIMESTAMP

RECORDINGS_STREAM = "valt_recordings"
VIDEOS_STREAM = "valt_videos"
LISTED_KEYS = ("id", "name", "created", "author", "type", "duration", "room", "cameras", "sharing")
RETENTION_TYPES = ("inherit", "infinitely", "until", "for")

RECORDING_SCHEMA = pa.schema(
    [
        ("record_id", pa.string()),
        ("name", pa.string()),
        ("created_at", TIMESTAMP),
        ("duration_s", pa.float64()),
        ("author_id", pa.string()),
        ("author_name", pa.string()),
        ("room_id", pa.string()),
        ("room_name", pa.string()),
        ("retention_type", pa.string()),
        ("retention_until", TIMESTAMP),
        ("markers_count", pa.int32()),
        ("listed_hash", pa.string()),
    ]
)
VIDEO_SCHEMA = pa.schema(
    [
        ("record_id", pa.string()),
        ("video_id", pa.string()),
        ("camera", pa.string()),
        ("duration_s", pa.float64()),
    ]
)

_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}")
_JSON = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def id_text(value: object, name: str = "id") -> str:
    """A VALT id as text (see the module doc); ValueError naming ``name`` otherwise."""
    if type(value) is int and value >= 0:
        return str(value)
    if isinstance(value, str) and _SAFE_ID.fullmatch(value) and ".." not in value:
        return value
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    raise ValueError(f"{name} is not a VALT id (a UUID or an integer): {shown}")


def listed_hash(record: dict[str, Any]) -> str:
    """Digest of the listed fields of ``record`` (a list entry or a details object)."""
    listed = {k: record[k] for k in LISTED_KEYS if k in record}
    return hashlib.blake2b(orjson.dumps(listed, option=_JSON), digest_size=16).hexdigest()


def listed_entry(record: Any) -> tuple[str, str, int | None]:
    """``(record_id, listed_hash, created_s)`` of one list entry; ``created_s`` is None when
    unreadable (the details will say why). ValueError when it has no usable id."""
    if not isinstance(record, dict):
        raise ValueError(f"recording is not an object: {type(record).__name__}")
    record_id = id_text(record.get("id"))
    try:
        created = epoch_ms(record.get("created"), "created", unit="s", required=True)
    except ValueError:
        created = None
    return record_id, listed_hash(record), None if created is None else created // 1000


def _ref(record: dict[str, Any], name: str) -> tuple[str | None, str | None]:
    """``(id, name)`` of an ``{id, name}`` object such as ``author`` or ``room``."""
    value = record.get(name)
    if value is None:
        return None, None
    if not isinstance(value, dict):
        raise ValueError(f"{name} is not an object: {type(value).__name__}")
    ref_id = value.get("id")
    return (
        None if ref_id is None else id_text(ref_id, f"{name}.id"),
        optional_str(value, "name"),
    )


def retention_of(retention: Any, created_ms: int) -> tuple[str, int | None]:
    """``(retention_type, retention_until ms)`` by the rules of the module doc."""
    if not isinstance(retention, dict):
        raise ValueError(f"retention is not an object: {type(retention).__name__}")
    kind = retention.get("type")
    if kind not in RETENTION_TYPES:
        raise ValueError(f"retention.type is not one of {', '.join(RETENTION_TYPES)}: {kind!r}")
    if kind == "until":
        return kind, epoch_ms(retention.get("until"), "retention.until", unit="s", required=True)
    if kind != "for":
        return kind, None
    seconds = 0.0
    for part, unit_s in (("days", 86_400), ("hours", 3_600), ("minutes", 60)):
        value = retention.get(part)
        amount = 0 if value is None else number(value, f"retention.{part}")
        if amount < 0:
            raise ValueError(f"retention.{part} is negative: {value!r}")
        seconds += amount * unit_s
    until_ms = created_ms + round(seconds * 1000)
    return kind, epoch_ms(until_ms, "retention_until (created + retention)", unit="ms")


def _markers_count(record: dict[str, Any]) -> int | None:
    markers = record.get("markers")
    if markers is None:
        return None
    if not isinstance(markers, list):
        raise ValueError(f"markers is not a list: {type(markers).__name__}")
    return len(markers)


def video_rows(record_id: str, videos: Any) -> list[tuple]:
    """The ``videos[]`` of a details object as rows of :data:`VIDEO_SCHEMA`."""
    if not isinstance(videos, list):
        got = "missing" if videos is None else type(videos).__name__
        raise ValueError(f"videos is not a list ({got})")
    rows, seen = [], set()
    for i, video in enumerate(videos):
        if not isinstance(video, dict):
            raise ValueError(f"videos[{i}] is not an object: {type(video).__name__}")
        video_id = id_text(video.get("id"), f"videos[{i}].id")
        if video_id in seen:
            raise ValueError(f"videos[{i}].id {video_id!r} appears twice")
        seen.add(video_id)
        rows.append(
            (
                record_id,
                video_id,
                optional_str(video, "camera"),
                optional_number(video, "duration", minimum=0),
            )
        )
    return rows


def details_rows(record_id: str, data: Any) -> tuple[tuple, list[tuple]]:
    """A details object -> (its :data:`RECORDING_SCHEMA` row, its video rows); ValueError
    with the reason when it does not fit."""
    if not isinstance(data, dict):
        raise ValueError(f"details is not an object: {type(data).__name__}")
    served_id = id_text(data.get("id"))
    if served_id != record_id:
        raise ValueError(f"details of {record_id} describe another recording: {served_id}")
    created = epoch_ms(data.get("created"), "created", unit="s", required=True)
    assert created is not None
    retention_type, retention_until = retention_of(data.get("retention"), created)
    author_id, author_name = _ref(data, "author")
    room_id, room_name = _ref(data, "room")
    row = (
        record_id,
        optional_str(data, "name"),
        created,
        optional_number(data, "duration", minimum=0),
        author_id,
        author_name,
        room_id,
        room_name,
        retention_type,
        retention_until,
        _markers_count(data),
        listed_hash(data),
    )
    return row, video_rows(record_id, data.get("videos"))
