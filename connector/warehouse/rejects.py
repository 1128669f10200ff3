"""meta.rejects: records that failed validation, with the reason and a scrubbed payload.

Scrubbing, before anything reaches DuckDB, is ``connector.secrets.scrub`` (the one scrubber
of the project, also used for log lines and error messages; mask ``***``): values under
secret-named keys (``api_key``, ``auth``, ``Authorization``...) are masked whole; in every
string, registered literal secrets, secret query parameters (``?token=...&sig=...``),
bearer/basic credentials and JWT-shaped strings are masked; then the caller's ``redact``
callable, if given, is applied. Values JSON cannot hold are stored as scrubbed strings.

Key of the table: (stream, record_id, reason). Re-rejecting the same record for the same
reason updates payload, run_id and rejected_at instead of adding a row. A reject without a
record_id is deduplicated on (stream, reason, payload) instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from connector import secrets

from ._sql import registered

_JSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def payload_json(value: Any, redact: Callable[[str], str] | None = None) -> str:
    """``value`` scrubbed (``connector.secrets.scrub``, then ``redact``) and serialized as
    JSON text with sorted keys. A value JSON cannot hold (an object, an integer beyond 64
    bits: the overflowing epochs that get records rejected) is stored as its scrubbed
    ``str()``."""

    def fallback(obj: Any) -> Any:
        return secrets.scrub(str(obj), redact)

    clean = secrets.scrub(value, redact)
    try:
        return orjson.dumps(clean, default=fallback, option=_JSON_OPTIONS).decode()
    except TypeError:  # orjson.JSONEncodeError: an int outside 64 bits somewhere
        return orjson.dumps(
            _big_ints_as_str(clean), default=fallback, option=_JSON_OPTIONS
        ).decode()


def _big_ints_as_str(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return value if -(2**63) <= value < 2**64 else str(value)
    if isinstance(value, dict):
        return {k: _big_ints_as_str(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_big_ints_as_str(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class Reject:
    record_id: str | None
    reason: str
    payload: Any = None


_SCHEMA = pa.schema(
    [
        ("stream", pa.string()),
        ("record_id", pa.string()),
        ("reason", pa.string()),
        ("payload", pa.string()),
        ("run_id", pa.string()),
        ("rejected_at", pa.timestamp("us", tz="UTC")),
    ]
)


def reject(
    con: duckdb.DuckDBPyConnection,
    stream: str,
    rejects: Iterable[Reject],
    run_id: str,
    redact: Callable[[str], str] | None = None,
) -> int:
    """Record rejects for ``stream``; returns how many were given (after in-batch dedup)."""
    now = datetime.now(UTC)
    rows: dict[tuple[str | None, str, str | None], dict[str, Any]] = {}
    for r in rejects:
        reason = secrets.scrub(str(r.reason), redact)
        record_id = None if r.record_id is None else str(r.record_id)
        payload = payload_json(r.payload, redact)
        dedup_key = (record_id, reason, payload if record_id is None else None)
        rows.pop(dedup_key, None)  # keep the last occurrence, in order
        rows[dedup_key] = {
            "stream": stream,
            "record_id": record_id,
            "reason": reason,
            "payload": payload,
            "run_id": run_id,
            "rejected_at": now,
        }
    if not rows:
        return 0
    batch = pa.Table.from_pylist(list(rows.values()), schema=_SCHEMA)
    with registered(con, batch) as view:
        con.execute(
            f"""
            MERGE INTO meta.rejects AS t
            USING (SELECT stream, record_id, reason, CAST(payload AS JSON) AS payload,
                          run_id, rejected_at FROM "{view}") AS s
            ON (t.stream = s.stream AND t.reason = s.reason
                AND t.record_id IS NOT DISTINCT FROM s.record_id
                AND (s.record_id IS NOT NULL
                     OR CAST(t.payload AS VARCHAR) = CAST(s.payload AS VARCHAR)))
            WHEN MATCHED THEN UPDATE SET payload = s.payload, run_id = s.run_id,
                                         rejected_at = s.rejected_at
            WHEN NOT MATCHED THEN INSERT (stream, record_id, reason, payload, run_id,
                                          rejected_at)
                VALUES (s.stream, s.record_id, s.reason, s.payload, s.run_id, s.rejected_at)
            """
        )
    return batch.num_rows
