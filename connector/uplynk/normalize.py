"""Uplynk asset and change records -> Arrow rows with an explicit schema.

A record that does not fit the schema is never coerced: it becomes a
:class:`~connector.warehouse.Reject` with the reason, and the sync carries on.
Normalisations that are not coercions, documented in the data dictionary:
- epoch 0 means "not set" for ``deleted`` and ``autoexpire`` and becomes NULL;
- an empty ``external_id`` means "none" and becomes NULL;
- ``meta`` is stored as JSON text with sorted keys, so equal dicts compare equal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import orjson
import pyarrow as pa

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


def valid_asset_id(value: object) -> bool:
    return isinstance(value, str) and _ASSET_ID.fullmatch(value) is not None


def _epoch_ms(record: dict, name: str, *, required: bool) -> int | None:
    value = record.get(name)
    if value is None or (value == 0 and not required):
        if required:
            raise ValueError(f"{name} is missing")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} is not an integer epoch in ms: {value!r}")
    if value <= 0:
        raise ValueError(f"{name} is not a positive epoch in ms: {value!r}")
    return value


def _optional_str(record: dict, name: str) -> str | None:
    value = record.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name} is not a string: {value!r}")
    return value


def asset_row(record: Any) -> tuple:
    """One Uplynk asset dict as a tuple in :data:`ASSET_SCHEMA` order; ValueError if invalid."""
    if not isinstance(record, dict):
        raise ValueError(f"asset is not an object: {type(record).__name__}")
    asset_id = record.get("id")
    if not valid_asset_id(asset_id):
        raise ValueError(f"id is missing or not 32 lowercase hex: {asset_id!r}")
    duration = record.get("duration")
    if duration is not None and (
        isinstance(duration, bool) or not isinstance(duration, int | float) or duration < 0
    ):
        raise ValueError(f"duration is not a non-negative number: {duration!r}")
    meta = record.get("meta")
    if meta is None:
        meta_json = None
    elif isinstance(meta, dict):
        meta_json = orjson.dumps(meta, option=orjson.OPT_SORT_KEYS).decode()
    else:
        raise ValueError(f"meta is not an object: {type(meta).__name__}")
    deleted = _epoch_ms(record, "deleted", required=False)
    return (
        asset_id,
        _optional_str(record, "external_id") or None,
        _optional_str(record, "desc"),
        None if duration is None else float(duration),
        _epoch_ms(record, "created", required=True),
        _epoch_ms(record, "lastmod", required=False),
        deleted,
        _epoch_ms(record, "autoexpire", required=False),
        _optional_str(record, "state"),
        _optional_str(record, "job_type"),
        meta_json,
        _optional_str(record, "mp4_url"),
        _optional_str(record, "thumb_url"),
        "feed" if deleted is not None else None,
    )


def record_id_of(record: Any) -> str | None:
    if isinstance(record, dict) and isinstance(record.get("id"), str):
        return record["id"]
    return None


def normalize_assets(records: Iterable[Any]) -> tuple[list[tuple], list[Reject]]:
    """Split records into schema rows and rejects (with the reason)."""
    rows: list[tuple] = []
    rejects: list[Reject] = []
    append = rows.append
    for record in records:
        try:
            append(asset_row(record))
        except ValueError as exc:
            rejects.append(Reject(record_id_of(record), str(exc), record))
    return rows, rejects


def rows_to_table(rows: list[tuple], schema: pa.Schema) -> pa.Table:
    """Column-wise Arrow table from row tuples (ints in ms for timestamp columns)."""
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in schema]
    arrays = []
    for values, fld in zip(columns, schema, strict=True):
        if pa.types.is_timestamp(fld.type):
            arrays.append(pa.array(values, type=pa.int64()).cast(fld.type))
        else:
            arrays.append(pa.array(values, type=fld.type))
    return pa.Table.from_arrays(arrays, schema=schema)
