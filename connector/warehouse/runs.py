"""meta.runs: one row per (run_id, stream), upserted as a run progresses and finishes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from .upsert import upsert

_TS = pa.timestamp("us", tz="UTC")
_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("stream", pa.string()),
        ("started_at", _TS),
        ("finished_at", _TS),
        ("status", pa.string()),
        ("rows_inserted", pa.int64()),
        ("rows_updated", pa.int64()),
        ("rows_deleted", pa.int64()),
        ("rows_rejected", pa.int64()),
        ("cursor_before", pa.string()),
        ("cursor_after", pa.string()),
        ("requests", pa.int64()),
        ("retries", pa.int64()),
        ("error", pa.string()),
    ]
)


@dataclass(slots=True)
class RunRecord:
    """One sync run of one stream. Datetimes must be timezone-aware; cursors are any
    JSON-serializable value (stored as JSON). ``error`` must already be redacted, or pass
    ``redact`` to :meth:`WriteTx.record_run`."""

    run_id: str
    stream: str
    started_at: datetime
    finished_at: datetime | None = None
    status: str = "running"
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_deleted: int = 0
    rows_rejected: int = 0
    cursor_before: Any = None
    cursor_after: Any = None
    requests: int = 0
    retries: int = 0
    error: str | None = None


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


def _aware(name: str, value: datetime | None) -> datetime | None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"RunRecord.{name} must be timezone-aware (UTC), got a naive datetime")
    return value


def record_run(
    con: duckdb.DuckDBPyConnection,
    rec: RunRecord,
    redact: Callable[[str], str] | None = None,
) -> None:
    row = {f.name: getattr(rec, f.name) for f in fields(rec)}
    row["started_at"] = _aware("started_at", rec.started_at)
    row["finished_at"] = _aware("finished_at", rec.finished_at)
    row["cursor_before"] = _json(rec.cursor_before)
    row["cursor_after"] = _json(rec.cursor_after)
    if rec.error is not None and redact is not None:
        row["error"] = redact(rec.error)
    batch = pa.Table.from_pylist([row], schema=_SCHEMA)
    upsert(con, "meta.runs", batch, ["run_id", "stream"])
