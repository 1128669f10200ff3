"""IRIS records -> Arrow rows with an explicit schema; what does not fit is a reject.

* Watch items (:func:`recommendation_rows`): each must be an object with a non-empty string
  ``iris_id``; ``platform_id`` is a string or absent (IRIS-only assets). A bad item is a
  reject of stream ``iris_recommendations``; the other items keep their rank.
* Data API records (:func:`asset_fields`): ``length_secs`` a number >= 0 (numeric strings
  too, :mod:`connector.records`); ``source_keywords`` a comma string or a list of strings,
  stored as a list with blanks dropped; ``billing_id`` a string or an integer (stored as
  text); ``source_url`` a string: ``"NOT_AVAILABLE"`` or an http(s) URL, stored with its
  token removed (:func:`connector.media.urls.strip_token`) and its expiry in
  ``source_url_expires_at``. Anything else is a ValueError whose message is the reason.

Every ``*_at`` is Unix ms here and ``timeutil.TIMESTAMP`` in Arrow.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from connector.media.urls import strip_token, url_expiry_ms
from connector.records import optional_number, optional_str
from connector.timeutil import TIMESTAMP
from connector.warehouse import Reject

RESOLUTIONS_STREAM = "iris_resolutions"
RECOMMENDATIONS_STREAM = "iris_recommendations"
ASSETS_STREAM = "iris_assets"
REFRESHES_STREAM = "iris_source_url_refreshes"
NOT_AVAILABLE = "NOT_AVAILABLE"
URL_STATES = (
    "live",
    "expired",
    "gone",
    "forbidden",
    "timeout",
    "error",
    "not_available",
    "unknown",
)
OUTCOMES = ("refreshed", "not_available", "gave_up", "error")

RESOLUTION_SCHEMA = pa.schema(
    [
        ("asset_id", pa.string()),
        ("platform_id", pa.string()),
        ("iris_id", pa.string()),
        ("echoed_platform_id", pa.string()),
        ("default_recs", pa.bool_()),
        ("recommendations", pa.int32()),
        ("uplynk_lastmod_at", TIMESTAMP),
        ("watched_at", TIMESTAMP),
    ]
)
RECOMMENDATION_SCHEMA = pa.schema(
    [
        ("seed_platform_id", pa.string()),
        ("rank", pa.int32()),
        ("recommended_iris_id", pa.string()),
        ("recommended_platform_id", pa.string()),
        ("default_recs", pa.bool_()),
        ("fetched_at", TIMESTAMP),
    ]
)
ASSET_SCHEMA = pa.schema(
    [
        ("iris_id", pa.string()),
        ("platform_id", pa.string()),
        ("title", pa.string()),
        ("description", pa.string()),
        ("source_url", pa.string()),
        ("source_url_expires_at", TIMESTAMP),
        ("source_url_state", pa.string()),
        ("thumbnail_url", pa.string()),
        ("closed_caption_url", pa.string()),
        ("length_s", pa.float64()),
        ("source_keywords", pa.list_(pa.string())),
        ("billing_id", pa.string()),
        ("checked_at", TIMESTAMP),
    ]
)
REFRESH_SCHEMA = pa.schema(
    [
        ("iris_id", pa.string()),
        ("requested_at", TIMESTAMP),
        ("outcome", pa.string()),
        ("requested", pa.bool_()),
        ("http_status", pa.int32()),
        ("detail", pa.string()),
        ("new_url_expires_at", TIMESTAMP),
        ("run_id", pa.string()),
    ]
)


def _item_platform_id(item: dict) -> str | None:
    value = item.get("platform_id")
    if value is None or (isinstance(value, str) and value):
        return value
    raise ValueError(f"platform_id is not a non-empty string: {value!r}")


def item_ids(item: Any) -> tuple[str, str | None]:
    """(iris_id, platform_id) of one Watch item; ValueError when it is unusable."""
    if not isinstance(item, dict):
        raise ValueError(f"item is not an object: {type(item).__name__}")
    iris_id = item.get("iris_id")
    if not isinstance(iris_id, str) or not iris_id:
        raise ValueError(f"iris_id is not a non-empty string: {iris_id!r}")
    return iris_id, _item_platform_id(item)


def recommendation_rows(
    seed: str, items: Iterable[Any], default_recs: bool, fetched_ms: int
) -> tuple[list[tuple], list[Reject]]:
    """Rows of one seed's snapshot, ranked from 1 in the order IRIS sent them (a rejected
    item keeps its rank number, so the others do not move)."""
    rows: list[tuple] = []
    rejects: list[Reject] = []
    for rank, item in enumerate(items, start=1):
        try:
            iris_id, platform_id = item_ids(item)
        except ValueError as exc:
            rejects.append(Reject(f"{seed}#{rank}", f"recommendation: {exc}", item))
            continue
        rows.append((seed, rank, iris_id, platform_id, default_recs, fetched_ms))
    return rows, rejects


@dataclass(frozen=True, slots=True)
class AssetFields:
    """A data API record read: ``url`` is the source URL with its token (never stored),
    None when NOT_AVAILABLE or absent; ``row`` the raw.iris_assets columns except
    ``source_url_state`` and ``checked_at``, which the walk decides."""

    iris_id: str
    url: str | None
    not_available: bool
    row: dict[str, Any]


def _keywords(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [k.strip() for k in value.split(",") if k.strip()]
    if isinstance(value, list) and all(isinstance(k, str) for k in value):
        return [k.strip() for k in value if k.strip()]
    raise ValueError(f"source_keywords is neither a comma string nor a list of strings: {value!r}")


def _billing_id(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if type(value) is int:
        return str(value)
    raise ValueError(f"billing_id is not a string or an integer: {value!r}")


def _source_url(value: Any) -> tuple[str | None, bool]:
    """(URL with its token, NOT_AVAILABLE?)."""
    if value is None:
        return None, False
    if value == NOT_AVAILABLE:
        return None, True
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return value, False
    raise ValueError(f"source_url is neither NOT_AVAILABLE nor an http(s) URL: {value!r}")


def _stripped(record: dict, name: str) -> str | None:
    value = optional_str(record, name)
    return None if value is None else strip_token(value)


def asset_fields(iris_id: str, record: dict[str, Any], platform_id: str | None) -> AssetFields:
    """A data API record as :class:`AssetFields`; ValueError (the reject reason) when a
    field does not fit."""
    if record.get("iris_id") != iris_id:
        raise ValueError(f"iris_id {record.get('iris_id')!r} is not the one asked for")
    url, not_available = _source_url(record.get("source_url"))
    row = {
        "iris_id": iris_id,
        "platform_id": platform_id,
        "title": optional_str(record, "title"),
        "description": optional_str(record, "description"),
        "source_url": None if url is None else strip_token(url),
        "source_url_expires_at": None if url is None else url_expiry_ms(url),
        "thumbnail_url": _stripped(record, "thumbnail_url"),
        "closed_caption_url": _stripped(record, "closed_caption_url"),
        "length_s": optional_number(record, "length_secs", minimum=0),
        "source_keywords": _keywords(record.get("source_keywords")),
        "billing_id": _billing_id(record.get("billing_id")),
    }
    return AssetFields(iris_id, url, not_available, row)


def asset_row(row: dict[str, Any], state: str, checked_ms: int) -> tuple:
    """A full raw.iris_assets row in :data:`ASSET_SCHEMA` order."""
    if state not in URL_STATES:
        raise ValueError(f"unknown source_url_state {state!r}")
    full = {**row, "source_url_state": state, "checked_at": checked_ms}
    return tuple(full[f.name] for f in ASSET_SCHEMA)


def unknown_asset_row(iris_id: str, platform_id: str | None, checked_ms: int) -> tuple:
    """The row of an id the data API answers 204 for: IRIS does not know it."""
    empty = {f.name: None for f in ASSET_SCHEMA}
    return asset_row(
        {**empty, "iris_id": iris_id, "platform_id": platform_id}, "unknown", checked_ms
    )


def refresh_row(
    iris_id: str,
    requested_ms: int,
    outcome: str,
    *,
    requested: bool,
    run_id: str,
    http_status: int | None = None,
    detail: str | None = None,
    new_url_expires_ms: int | None = None,
) -> tuple:
    """One ledger row in :data:`REFRESH_SCHEMA` order."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown refresh outcome {outcome!r}")
    return (
        iris_id,
        requested_ms,
        outcome,
        requested,
        http_status,
        detail,
        new_url_expires_ms,
        run_id,
    )


__all__ = [
    "ASSETS_STREAM",
    "ASSET_SCHEMA",
    "NOT_AVAILABLE",
    "OUTCOMES",
    "RECOMMENDATIONS_STREAM",
    "RECOMMENDATION_SCHEMA",
    "REFRESHES_STREAM",
    "REFRESH_SCHEMA",
    "RESOLUTIONS_STREAM",
    "RESOLUTION_SCHEMA",
    "URL_STATES",
    "AssetFields",
    "asset_fields",
    "asset_row",
    "item_ids",
    "recommendation_rows",
    "refresh_row",
    "unknown_asset_row",
]
