"""Small SQL helpers shared by the warehouse modules (identifier quoting, catalog look-ups)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import duckdb
import pyarrow as pa

_view_ids = itertools.count()


def quote_ident(name: str) -> str:
    """Quote one identifier for DuckDB (double quotes, embedded quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def split_table(table: str) -> tuple[str | None, str]:
    """``"schema.table"`` -> ``("schema", "table")``; ``"table"`` -> ``(None, "table")``.

    Names are plain dotted identifiers (no quoting inside): the warehouse's tables are all
    ``<schema>.<snake_case>``.
    """
    parts = table.split(".")
    if len(parts) == 1 and parts[0]:
        return None, parts[0]
    if len(parts) == 2 and all(parts):
        return parts[0], parts[1]
    raise ValueError(f"table name must be 'schema.table' or 'table', got {table!r}")


def qualified(table: str) -> str:
    schema, name = split_table(table)
    return quote_ident(name) if schema is None else f"{quote_ident(schema)}.{quote_ident(name)}"


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """Column name -> SQL type of an existing table, in table order. Raises if missing."""
    schema, name = split_table(table)
    rows = con.execute(
        """
        SELECT column_name, data_type
        FROM duckdb_columns()
        WHERE database_name = current_database()
          AND schema_name = coalesce(?, current_schema())
          AND table_name = ?
        ORDER BY column_index
        """,
        [schema, name],
    ).fetchall()
    if not rows:
        raise ValueError(f"table {table!r} does not exist (is its migration applied?)")
    return {c: t for c, t in rows}


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, data: pa.Table) -> Iterator[str]:
    """Register an Arrow table with the connection (zero-copy) under a unique view name."""
    name = f"__wh_src_{next(_view_ids)}"
    con.register(name, data)
    try:
        yield name
    finally:
        con.unregister(name)


def as_table(batch: pa.Table | pa.RecordBatch) -> pa.Table:
    if isinstance(batch, pa.RecordBatch):
        return pa.Table.from_batches([batch])
    if isinstance(batch, pa.Table):
        return batch
    raise TypeError(f"expected a pyarrow Table or RecordBatch, got {type(batch).__name__}")


def check_columns(batch: pa.Table, target: dict[str, str], key: Sequence[str], table: str) -> None:
    names = batch.column_names
    if len(set(names)) != len(names):
        raise ValueError(f"batch for {table} has duplicate column names: {names}")
    unknown = [c for c in names if c not in target]
    if unknown:
        raise ValueError(f"batch columns not in {table}: {unknown}")
    if not key:
        raise ValueError("key must name at least one column")
    missing = [k for k in key if k not in names]
    if missing:
        raise ValueError(f"key columns missing from batch for {table}: {missing}")
    for k in key:
        if batch.column(k).null_count:
            raise ValueError(f"key column {k!r} of batch for {table} contains nulls")
