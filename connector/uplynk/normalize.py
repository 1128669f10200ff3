"""Uplynk asset and change records -> Arrow rows with an explicit schema.

A record that does not fit the schema is never coerced: it becomes a
:class:`~connector.warehouse.Reject` with the reason, and the sync carries on. Numbers
(``duration``, the ms epochs ``created``, ``lastmod``, ``deleted``, ``autoexpire``) follow
the shared rule of :mod:`connector.records`: a JSON number or a numeric string, epochs
between 2000 and 2100, durations not negative.
Normalisations that are not coercions, documented in the data dictionary:
- epoch 0 means "not set" for ``lastmod``, ``deleted`` and ``autoexpire`` and becomes NULL;
- an empty ``external_id`` means "none" and becomes NULL;
- ``meta`` is stored as JSON text with sorted keys, so equal dicts compare equal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import orjson
import pyarrow as pa

from connector.records import EPOCH_MAX_MS, EPOCH_MIN_MS, epoch_ms, optional_number, optional_str
from connector.timeutil import TIMESTAMP
from connector.warehouse import Reject

ASSETS_STREAM = "uplynk_assets"
CHANGES_STREAM = "uplynk_changes"

ASSET_SCHEMA = pa.schema(
    [
        ("asset_id", pa.string()),
        ("external_id", pa.string()),
        ("title", pa.string()),
        ("duration_s", pa.float64()),
        ("created_at", TIMESTAMP),
        ("lastmod_at", TIMESTAMP),
        ("deleted_at", TIMESTAMP),
        ("autoexpire_at", TIMESTAMP),
        ("state", pa.string()),
        ("job_type", pa.string()),
        ("meta", pa.string()),
        ("mp4_url", pa.string()),
        ("thumb_url", pa.string()),
        ("delete_detected_by", pa.string()),
    ]
)
CHANGE_SCHEMA = pa.schema(
    [("change_ts", TIMESTAMP), ("action", pa.string()), ("asset_id", pa.string())]
)

_ASSET_ID = re.compile(r"[0-9a-f]{32}")
_INF = float("inf")


def valid_asset_id(value: object) -> bool:
    return isinstance(value, str) and _ASSET_ID.fullmatch(value) is not None


def asset_row(record: Any) -> tuple:
    """One Uplynk asset dict as a tuple in :data:`ASSET_SCHEMA` order; ValueError if invalid."""
    if not isinstance(record, dict):
        raise ValueError(f"asset is not an object: {type(record).__name__}")
    asset_id = record.get("id")
    if not valid_asset_id(asset_id):
        raise ValueError(f"id is missing or not 32 lowercase hex: {asset_id!r}")
    get = record.get
    duration = optional_number(record, "duration", minimum=0)
    meta = record.get("meta")
    if meta is None:
        meta_json = None
    elif isinstance(meta, dict):
        meta_json = orjson.dumps(meta, option=orjson.OPT_SORT_KEYS).decode()
    else:
        raise ValueError(f"meta is not an object: {type(meta).__name__}")
    deleted = epoch_ms(get("deleted"), "deleted", unit="ms")
    return (
        asset_id,
        optional_str(record, "external_id") or None,
        optional_str(record, "desc"),
        duration,
        epoch_ms(get("created"), "created", unit="ms", required=True),
        epoch_ms(get("lastmod"), "lastmod", unit="ms"),
        deleted,
        epoch_ms(get("autoexpire"), "autoexpire", unit="ms"),
        optional_str(record, "state"),
        optional_str(record, "job_type"),
        meta_json,
        optional_str(record, "mp4_url"),
        optional_str(record, "thumb_url"),
        "feed" if deleted is not None else None,
    )


def record_id_of(record: Any) -> str | None:
    if isinstance(record, dict) and isinstance(record.get("id"), str):
        return record["id"]
    return None


def _epoch_ok(value: object) -> bool:
    return value is None or (
        type(value) is int and (value == 0 or EPOCH_MIN_MS <= value < EPOCH_MAX_MS)
    )


def _str_ok(value: object) -> bool:
    return value is None or type(value) is str


def fast_asset_row(record: Any) -> tuple | None:
    """:func:`asset_row` for a record that is valid, None for any that is not.

    The hot path of a full listing: the rules of :func:`asset_row` for the shapes the
    vendor documents (ints, floats, strings), checked in a handful of comparisons. A None
    sends the record through :func:`asset_row`, which rejects it with the reason or
    accepts it (numbers sent as numeric strings take that slower path).
    """
    if type(record) is not dict:
        return None
    get = record.get
    asset_id = get("id")
    created = get("created")
    duration = get("duration")
    lastmod = get("lastmod")
    deleted = get("deleted")
    autoexpire = get("autoexpire")
    external_id = get("external_id")
    desc = get("desc")
    state = get("state")
    job_type = get("job_type")
    meta = get("meta")
    mp4_url = get("mp4_url")
    thumb_url = get("thumb_url")
    if not (
        type(asset_id) is str
        and _ASSET_ID.fullmatch(asset_id) is not None
        and type(created) is int
        and EPOCH_MIN_MS <= created < EPOCH_MAX_MS
        and (
            duration is None
            or ((type(duration) is float or type(duration) is int) and 0 <= duration < _INF)
        )
        and _epoch_ok(lastmod)
        and _epoch_ok(deleted)
        and _epoch_ok(autoexpire)
        and _str_ok(external_id)
        and _str_ok(desc)
        and _str_ok(state)
        and _str_ok(job_type)
        and _str_ok(mp4_url)
        and _str_ok(thumb_url)
        and (meta is None or type(meta) is dict)
    ):
        return None
    deleted = deleted or None
    return (
        asset_id,
        external_id or None,
        desc,
        None if duration is None else float(duration),
        created,
        lastmod or None,
        deleted,
        autoexpire or None,
        state,
        job_type,
        None if meta is None else orjson.dumps(meta, option=orjson.OPT_SORT_KEYS).decode(),
        mp4_url,
        thumb_url,
        None if deleted is None else "feed",
    )


def normalize_assets(records: Iterable[Any]) -> tuple[list[tuple], list[Reject]]:
    """Split records into schema rows and rejects (with the reason)."""
    rows: list[tuple] = []
    rejects: list[Reject] = []
    append = rows.append
    for record in records:
        row = fast_asset_row(record)
        if row is None:
            try:
                row = asset_row(record)
            except ValueError as exc:
                rejects.append(Reject(record_id_of(record), str(exc), record))
                continue
        append(row)
    return rows, rejects
