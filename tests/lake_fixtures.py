"""Shared by the warehouse-backend tests: the PostgreSQL and S3 servers (started once per
test process, on first use), a fresh DuckLake per test, and a dump of every table for
comparing two warehouses table for table."""

from __future__ import annotations

import atexit
import itertools
import os
import threading
from pathlib import Path

import pytest

from connector.warehouse import Warehouse, backend_from
from tests.lake_servers import PostgresServer, S3Server, ServerUnavailable, lake_env

BUCKET = "connector-lake"

_lock = threading.Lock()
_servers: tuple[PostgresServer, S3Server] | None = None
_failure: str | None = None
_ids = itertools.count()


def servers() -> tuple[PostgresServer, S3Server]:
    """PostgreSQL and S3 on loopback, started once per process; pytest.skip with the reason
    when their packages cannot start here."""
    global _servers, _failure
    with _lock:
        if _servers is None and _failure is None:
            try:
                pg = PostgresServer().__enter__()
                atexit.register(pg.stop)
                s3 = S3Server().__enter__()
                atexit.register(s3.__exit__)
                s3.create_bucket(BUCKET)
                _servers = (pg, s3)
            except ServerUnavailable as exc:
                _failure = str(exc)
    if _servers is None:
        pytest.skip(f"PostgreSQL/S3 stand-ins cannot start on this machine: {_failure}")
    return _servers


class Lake:
    """One fresh DuckLake: a new PostgreSQL database for its catalog and a new S3 prefix."""

    def __init__(self, tmp_path: Path) -> None:
        self.pg, self.s3 = servers()
        n = next(_ids)
        self.db = self.pg.create_database(f"lake_{os.getpid()}_{n}")
        self.prefix = f"t{os.getpid()}-{n}"
        self.env = lake_env(self.pg, self.s3, self.db, BUCKET, self.prefix)
        self.lake_root = tmp_path / f"lake{n}-parquet"

    def warehouse(self, **kwargs) -> Warehouse:
        return Warehouse(
            backend_from(self.env["CONNECTOR_WAREHOUSE"], self.env), self.lake_root, **kwargs
        )

    def data_keys(self) -> list[str]:
        return self.s3.keys(BUCKET, self.prefix + "/")


# Columns that record when, or in which run, the connector wrote: they differ between any
# two syncs, whatever the backend.
VOLATILE = {
    "meta.runs": {"run_id", "started_at", "finished_at"},
    "meta.lake_files": {"path", "run_id", "created_at", "bytes"},
    "meta.rejects": {"run_id", "rejected_at"},
    "meta.sync_state": {"updated_at"},
    "meta.schema_migrations": {"applied_at"},
    "raw.ibm_expiration_history": {"run_id"},
}


def tables(warehouse: Warehouse) -> list[str]:
    rows = warehouse.query(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables "
        "WHERE table_catalog = current_database() AND table_type = 'BASE TABLE' "
        "AND table_schema IN ('raw', 'core', 'meta') ORDER BY 1"
    )
    return [r[0] for r in rows]


def dump(
    warehouse: Warehouse, volatile: dict[str, set[str]] | None = None
) -> dict[str, list[tuple]]:
    """Every table's rows, sorted, JSON as text; without the ``VOLATILE`` columns and those
    named in ``volatile``."""
    skip = {t: VOLATILE.get(t, set()) | (volatile or {}).get(t, set()) for t in tables(warehouse)}
    out = {}
    with warehouse.read() as con:
        for table in tables(warehouse):
            schema, name = table.split(".")
            cols = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_catalog = current_database() AND table_schema = ? "
                "AND table_name = ? ORDER BY ordinal_position",
                [schema, name],
            ).fetchall()
            keep = [
                f'CAST("{c}" AS VARCHAR)' if t == "JSON" else f'"{c}"'
                for c, t in cols
                if c not in skip[table]
            ]
            out[table] = con.execute(
                f"SELECT {', '.join(keep)} FROM {table} ORDER BY ALL"
            ).fetchall()
    return out


def differences(a: dict[str, list[tuple]], b: dict[str, list[tuple]]) -> list[str]:
    """What differs between two dumps, table by table (empty when equal)."""
    problems = []
    for table in sorted(set(a) | set(b)):
        if table not in a or table not in b:
            problems.append(f"{table}: only in {'first' if table in a else 'second'}")
            continue
        if a[table] != b[table]:
            only_a = [r for r in a[table] if r not in b[table]][:2]
            only_b = [r for r in b[table] if r not in a[table]][:2]
            problems.append(
                f"{table}: {len(a[table])} vs {len(b[table])} rows; first only {only_a}; "
                f"second only {only_b}"
            )
    return problems
