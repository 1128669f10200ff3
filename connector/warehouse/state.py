"""meta.sync_state: one JSON state (cursor) per stream.

The point of keeping it in the warehouse: ``set_state`` runs inside the same transaction as
the rows the cursor covers, so the cursor can never get ahead of the data (and a re-run after
a crash starts from the last committed cursor, re-fetching at most one batch).
"""

from __future__ import annotations

from typing import Any

import duckdb
import orjson


def get_state(con: duckdb.DuckDBPyConnection, stream: str) -> dict[str, Any] | None:
    row = con.execute(
        "SELECT CAST(state AS VARCHAR) FROM meta.sync_state WHERE stream = ? "
        "ORDER BY updated_at DESC LIMIT 1",
        [stream],
    ).fetchone()
    if row is None or row[0] is None:
        return None
    return orjson.loads(row[0])


def set_state(con: duckdb.DuckDBPyConnection, stream: str, state: dict[str, Any]) -> None:
    if not isinstance(state, dict):
        raise TypeError(f"state must be a dict, got {type(state).__name__}")
    text = orjson.dumps(state, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS).decode()
    con.execute(
        """
        MERGE INTO meta.sync_state AS t
        USING (SELECT CAST(? AS VARCHAR) AS stream, CAST(? AS JSON) AS state) AS s
        ON (t.stream = s.stream)
        WHEN MATCHED THEN UPDATE SET state = s.state, updated_at = now()
        WHEN NOT MATCHED THEN INSERT (stream, state, updated_at)
            VALUES (s.stream, s.state, now())
        """,
        [stream, text],
    )
