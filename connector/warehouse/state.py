"""meta.sync_state: one JSON state (cursor) per stream.

The point of keeping it in the warehouse: ``set_state`` runs inside the same transaction as
the rows the cursor covers, so the cursor can never get ahead of the data (and a re-run after
a crash starts from the last committed cursor, re-fetching at most one batch).

One row per stream, replaced in place (``MERGE``), on an exclusive backend (a DuckDB file,
a DuckLake with a file catalog). On a shared one (DuckLake on PostgreSQL) ``set_state``
appends a row instead: DuckLake checks conflicts per table, so replacing a row would make
every concurrent checkpoint of every other stream conflict with this one, while appends to
the same table do not conflict. The latest row by ``updated_at`` (the committing
transaction's start) is the state; ``prune`` drops a stream's older rows once per run
(``Warehouse.log_run``), so at rest there is one row per stream there too.
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


def set_state(
    con: duckdb.DuckDBPyConnection, stream: str, state: dict[str, Any], *, append: bool = False
) -> None:
    """Make ``state`` the stream's state in ``con``'s transaction (``append``: as a new row)."""
    if not isinstance(state, dict):
        raise TypeError(f"state must be a dict, got {type(state).__name__}")
    text = orjson.dumps(state, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS).decode()
    if append:
        con.execute(
            "INSERT INTO meta.sync_state (stream, state, updated_at) "
            "VALUES (?, CAST(? AS JSON), now())",
            [stream, text],
        )
        return
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


def prune(con: duckdb.DuckDBPyConnection, stream: str) -> int:
    """Delete the stream's rows older than its latest; returns how many went."""
    row = con.execute(
        "DELETE FROM meta.sync_state WHERE stream = $s AND updated_at < "
        "(SELECT max(updated_at) FROM meta.sync_state WHERE stream = $s)",
        {"s": stream},
    ).fetchone()
    return int(row[0]) if row else 0
