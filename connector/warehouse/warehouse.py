"""The warehouse: a DuckDB file (later a DuckLake catalog) plus a Parquet lake.

DuckDB lets one process at a time open a file for writing, and Dagster runs assets in
parallel processes, so a :class:`Warehouse` never keeps a connection open between operations.
``write()`` and ``read()`` open the file, retrying with jittered exponential backoff while
another process holds its lock (up to ``lock_timeout_s``), and always close it afterwards.
Keep write transactions short (one batch: rows + cursor) so that other processes get their
turn; the lock is held from open to close.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from connector.config import DEFAULT_LAKE, DEFAULT_WAREHOUSE

from . import lake as _lake
from . import migrations as _migrations
from . import rejects as _rejects
from . import runs as _runs
from . import state as _state
from . import upsert as _upsert
from .rejects import Reject
from .runs import RunRecord
from .upsert import UpsertCounts

log = logging.getLogger(__name__)

DEFAULT_MEMORY_LIMIT = os.environ.get("CONNECTOR_DUCKDB_MEMORY_LIMIT") or "192MB"


class WarehouseLockTimeout(TimeoutError):
    """The database file stayed locked by another process for longer than lock_timeout_s."""


def _is_lock_error(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, duckdb.IOException) and (
        "lock" in text or "resource temporarily unavailable" in text
    )


class WriteTx:
    """One open write transaction. Obtained from ``with Warehouse.write() as tx:``."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        lake_root: Path,
        redact: Callable[[str], str] | None = None,
    ) -> None:
        self.con = con
        self.lake_root = lake_root
        self.redact = redact
        self.landed: list[Path] = []

    def execute(
        self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None
    ) -> duckdb.DuckDBPyConnection:
        """Run source-specific SQL in this transaction."""
        if params is None:
            return self.con.execute(sql)
        return self.con.execute(sql, params)

    def run(
        self,
        sql: str,
        params: dict[str, Any] | None = None,
        inputs: dict[str, pa.Table] | None = None,
    ) -> int:
        """Run one statement (usually a source's ``.sql`` file, see :mod:`.sqlfile`) with
        ``$name`` parameters and Arrow ``inputs`` readable by name; returns the number of
        rows it changed (or the first column of its first row for a query)."""
        with _registered_inputs(self.con, inputs):
            row = self.con.execute(sql, params or {}).fetchone()
        return 0 if row is None or row[0] is None else int(row[0])

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple]:
        """Rows of a query run inside this transaction."""
        return self.con.execute(sql, params or {}).fetchall()

    def upsert(
        self,
        table: str,
        batch: pa.Table | pa.RecordBatch,
        key: Sequence[str],
        *,
        compare: Sequence[str] | None = None,
    ) -> UpsertCounts:
        """Insert new rows, replace changed ones (DELETE + INSERT), skip unchanged ones;
        by ``key`` (see :mod:`.upsert`)."""
        return _upsert.upsert(self.con, table, batch, key, compare=compare)

    def insert_new(self, table: str, batch: pa.Table | pa.RecordBatch, key: Sequence[str]) -> int:
        """Insert only rows whose key is absent; returns the number inserted."""
        return _upsert.insert_new(self.con, table, batch, key)

    def get_state(self, stream: str) -> dict[str, Any] | None:
        return _state.get_state(self.con, stream)

    def set_state(self, stream: str, state: dict[str, Any]) -> None:
        _state.set_state(self.con, stream, state)

    def land(self, stream: str, batch: pa.Table | pa.RecordBatch, run_id: str) -> Path | None:
        """Write an immutable Parquet file for ``batch`` and its ledger row (see :mod:`.lake`)."""
        path = _lake.land(self.con, self.lake_root, stream, batch, run_id)
        if path is not None:
            self.landed.append(path)
        return path

    def reject(
        self,
        stream: str,
        rejects: Iterable[Reject],
        run_id: str,
        redact: Callable[[str], str] | None = None,
    ) -> int:
        """Record rejects with scrubbed payloads; returns how many rows were written."""
        return _rejects.reject(self.con, stream, rejects, run_id, redact or self.redact)

    def record_run(self, rec: RunRecord, redact: Callable[[str], str] | None = None) -> None:
        """Upsert ``rec`` into meta.runs by (run_id, stream)."""
        _runs.record_run(self.con, rec, redact or self.redact)


@contextmanager
def _registered_inputs(
    con: duckdb.DuckDBPyConnection, inputs: dict[str, pa.Table] | None
) -> Iterator[None]:
    names = list(inputs or {})
    for name in names:
        con.register(name, inputs[name])  # type: ignore[index]
    try:
        yield
    finally:
        for name in names:
            con.unregister(name)


class Warehouse:
    """DuckDB file + Parquet lake. Cheap to construct; opens the file only per operation."""

    def __init__(
        self,
        path: str | Path,
        lake_root: str | Path,
        *,
        lock_timeout_s: float = 120.0,
        migrations_dir: str | Path | None = None,
        redact: Callable[[str], str] | None = None,
        memory_limit: str = DEFAULT_MEMORY_LIMIT,
    ) -> None:
        self.path = Path(path).absolute()
        # DuckDB's buffer cache otherwise grows with the tables a sync scans (its default
        # is 80% of RAM): a cap keeps a sync's memory flat as the catalog grows; joins that
        # need more spill to <file>.tmp.
        self.memory_limit = memory_limit
        self.lake_root = Path(lake_root).absolute()
        self.lock_timeout_s = float(lock_timeout_s)
        self.migrations_dir = (
            Path(migrations_dir) if migrations_dir is not None else _migrations.MIGRATIONS_DIR
        )
        self.redact = redact
        #: how many times opening the file had to wait for another process's lock
        self.lock_waits = 0
        self._migrated = False
        self._migrate_lock = threading.Lock()

    @classmethod
    def from_env(cls, **kwargs: Any) -> Warehouse:
        """``CONNECTOR_WAREHOUSE`` (default data/warehouse.duckdb) and ``CONNECTOR_LAKE``
        (default data/lake)."""
        return cls(
            os.environ.get("CONNECTOR_WAREHOUSE") or DEFAULT_WAREHOUSE,
            os.environ.get("CONNECTOR_LAKE") or DEFAULT_LAKE,
            **kwargs,
        )

    def __repr__(self) -> str:
        return f"Warehouse({str(self.path)!r}, {str(self.lake_root)!r})"

    def __getstate__(self) -> dict[str, Any]:
        # Picklable (e.g. handed to another process): the lock is not, and the migration
        # check is per process anyway.
        state = self.__dict__.copy()
        del state["_migrate_lock"]
        state["_migrated"] = False
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._migrate_lock = threading.Lock()

    # -- connections -------------------------------------------------------------------
    def _connect(self, *, migrate: bool = True) -> duckdb.DuckDBPyConnection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.lock_timeout_s
        delay = 0.005
        while True:
            try:
                con = duckdb.connect(str(self.path))
                break
            except duckdb.Error as exc:
                if not _is_lock_error(exc):
                    raise
                self.lock_waits += 1
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise WarehouseLockTimeout(
                        f"{self.path} stayed locked by another process for "
                        f"{self.lock_timeout_s:g}s: {exc}"
                    ) from None
                time.sleep(min(remaining, random.uniform(0, delay)))
                delay = min(delay * 2, 0.25)
        try:
            con.execute("SET TimeZone = 'UTC'")
            con.execute("SET enable_progress_bar = false")
            con.execute(f"SET memory_limit = '{self.memory_limit}'")
            if migrate:
                self._ensure_migrated(con)
        except BaseException:
            con.close()
            raise
        return con

    def _ensure_migrated(self, con: duckdb.DuckDBPyConnection) -> None:
        if self._migrated:
            return
        with self._migrate_lock:
            if not self._migrated:
                _migrations.apply_pending(con, self.migrations_dir)
                self._migrated = True

    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for queries (no transaction opened); closed on exit."""
        con = self._connect()
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def write(self) -> Iterator[WriteTx]:
        """One transaction: COMMIT on normal exit, ROLLBACK (and delete the Parquet files
        landed in it) on exception; the connection is always closed."""
        con = self._connect()
        tx = WriteTx(con, self.lake_root, self.redact)
        try:
            con.execute("BEGIN TRANSACTION")
            try:
                yield tx
            except BaseException:
                try:
                    con.execute("ROLLBACK")
                finally:
                    _lake.discard(tx.landed)
                raise
            try:
                con.execute("COMMIT")
            except BaseException:
                _lake.discard(tx.landed)
                raise
            _lake.release(tx.landed)
        finally:
            con.close()

    def get_state(self, stream: str) -> dict[str, Any] | None:
        """The stream's last committed state (see :mod:`.state`)."""
        with self.read() as con:
            return _state.get_state(con, stream)

    def query(
        self,
        sql: str,
        params: dict[str, Any] | None = None,
        inputs: dict[str, pa.Table] | None = None,
    ) -> list[tuple]:
        """Rows of one read-only query (a source's ``.sql`` file or a mart)."""
        with self.read() as con, _registered_inputs(con, inputs):
            return con.execute(sql, params or {}).fetchall()

    def query_arrow(self, sql: str, params: dict[str, Any] | None = None) -> pa.Table:
        """One read-only query as an Arrow table."""
        with self.read() as con:
            return con.execute(sql, params or {}).to_arrow_table()

    # -- maintenance ---------------------------------------------------------------------
    def migrate(self) -> list[_migrations.Migration]:
        """Apply pending migrations now; returns those applied (empty when up to date)."""
        with self._migrate_lock:
            con = self._connect(migrate=False)
            try:
                applied = _migrations.apply_pending(con, self.migrations_dir)
            finally:
                con.close()
            self._migrated = True
        return applied

    def log_run(self, record: RunRecord, redact: Callable[[str], str] | None = None) -> bool:
        """Record a finished run in meta.runs; never raises (the run log must not hide the
        run's own error). Returns whether it was written."""
        try:
            with self.write() as tx:
                tx.record_run(record, redact)
            return True
        except Exception:
            log.exception("could not record run %s in meta.runs", record.run_id)
            return False

    def recover_lake(self, stream: str) -> list[Path]:
        """Delete the stream's ``*.tmp`` files and Parquet files with no ledger row (orphans
        of a run that crashed before committing); returns the removed paths. Holds the
        database lock meanwhile, so no other process can be landing files."""
        with self.read() as con:
            return _lake.recover(con, self.lake_root, stream)
