"""meta.rejects: records that failed validation, with the reason and a scrubbed payload.

Scrubbing (before anything reaches DuckDB):

* a mapping key whose name suggests a secret (token, secret, password, api_key, sig,
  authorization, ... see ``_is_secret_key``) has its value replaced by ``"[REDACTED]"``;
* string values: secret-named query parameters in URLs (``?token=...&sig=...``), bearer /
  basic credentials and JWT-shaped strings are masked, then the caller's ``redact`` callable
  (e.g. the HTTP layer's Redactor) is applied, if given;
* anything not JSON-native is stringified.

Key of the table: (stream, record_id, reason). Re-rejecting the same record for the same
reason updates payload, run_id and rejected_at instead of adding a row. A reject without a
record_id is deduplicated on (stream, reason, payload) instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from ._sql import registered

MASK = "[REDACTED]"

_SECRET_WORDS = frozenset(
    {
        "token",
        "tokens",
        "secret",
        "secrets",
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "apikey",
        "sig",
        "sigs",
        "signature",
        "authorization",
        "auth",
        "credential",
        "credentials",
        "cookie",
        "jwt",
        "bearer",
        "privatekey",
        "sessionid",
    }
)
_SECRET_PAIRS = frozenset(
    {
        ("api", "key"),
        ("private", "key"),
        ("access", "key"),
        ("secret", "key"),
        ("signing", "key"),
        ("stream", "key"),
        ("ingest", "key"),
        ("session", "id"),
    }
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SPLIT = re.compile(r"[^A-Za-z0-9]+")


def _is_secret_key(name: str) -> bool:
    """True when a key name suggests a secret: ``access_token``, ``X-Api-Key``,
    ``clientSecret``, ``sig``, ``Authorization``... but not ``signal`` or ``design``."""
    parts = [p.lower() for p in _SPLIT.split(_CAMEL.sub("_", name)) if p]
    if any(p in _SECRET_WORDS for p in parts):
        return True
    if any(pair in _SECRET_PAIRS for pair in zip(parts, parts[1:], strict=False)):
        return True
    joined = "".join(parts)
    return any(w in joined for w in ("token", "secret", "password", "apikey"))


_QUERY_PARAM = re.compile(r"([?&;])([^=&#\s;]+)=([^&#\s;]*)")
_BEARER = re.compile(r"\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")


def _scrub_text(s: str) -> str:
    if "=" in s:
        s = _QUERY_PARAM.sub(lambda m: f"{m[1]}{m[2]}={MASK}" if _is_secret_key(m[2]) else m[0], s)
    if " " in s:
        s = _BEARER.sub(lambda m: f"{m[1]} {MASK}", s)
    if "eyJ" in s:
        s = _JWT.sub(MASK, s)
    return s


def scrub(value: Any, redact: Callable[[str], str] | None = None) -> Any:
    """A JSON-ready copy of ``value`` with secrets masked (see the module docstring)."""
    if isinstance(value, Mapping):
        return {
            str(k): MASK if _is_secret_key(str(k)) and v is not None else scrub(v, redact)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [scrub(v, redact) for v in value]
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("utf-8", "replace")
    if isinstance(value, str):
        value = _scrub_text(value)
        return redact(value) if redact is not None else value
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return scrub(str(value), redact)


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
        reason = redact(_scrub_text(r.reason)) if redact else _scrub_text(r.reason)
        record_id = None if r.record_id is None else str(r.record_id)
        payload = orjson.dumps(
            scrub(r.payload, redact), option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
        ).decode()
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
