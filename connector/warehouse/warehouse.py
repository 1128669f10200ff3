"""The warehouse: tables on a backend (a DuckDB file, or a DuckLake catalog; see
:mod:`.backends`) plus a Parquet lake.

Every source uses this one API: ``write()`` / ``transact(fn)`` for a transaction, ``read()``,
``query``, ``query_arrow``, ``get_state``, ``log_run``, ``recover_lake`` and ``migrate``.

On a DuckDB file (the default) one process at a time may open the file for writing, and
Dagster runs assets in parallel processes, so a :class:`Warehouse` never keeps a connection
open between operations: each one opens the file, retrying with jittered exponential
backoff while another process holds its lock (up to ``lock_timeout_s``), and closes it
afterwards. Keep write transactions short (one batch: rows + cursor) so that other
processes get their turn.

On DuckLake with a PostgreSQL catalog many processes write at once without waiting:
DuckLake commits optimistically, and a transaction that conflicts with one committed in the
meantime fails at COMMIT. ``transact(fn)`` runs ``fn(tx)`` again in a new transaction on
such a conflict, until it commits or ``lock_timeout_s`` has passed, so no write is lost.
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
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

from connector.config import DEFAULT_LAKE, DEFAULT_WAREHOUSE

from . import lake as _lake
from . import migrations as _migrations
from . import rejects as _rejects
from . import runs as _runs
from . import state as _state
from . import upsert as _upsert
from .backends import Backend, WarehouseLockTimeout, backend_from
from .rejects import Reject
from .runs import RunRecord
from .upsert import UpsertCounts

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_MEMORY_LIMIT = os.environ.get("CONNECTOR_DUCKDB_MEMORY_LIMIT") or "192MB"

__all__ = ["Warehouse", "WarehouseConflictError", "WarehouseLockTimeout", "WriteTx"]


class WarehouseConflictError(RuntimeError):
    """A transaction kept conflicting with other writers for longer than lock_timeout_s."""


def is_conflict(exc: BaseException) -> bool:
    """DuckLake refused a commit because a transaction committed meanwhile changed the same
    table (its conflict check is per table for deletes and updates, see the README)."""
    return isinstance(exc, duckdb.Error) and "transaction conflict" in str(exc).lower()


class WriteTx:
    """One open write transaction. Obtained from ``with Warehouse.write() as tx:``."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        lake_root: Path,
        redact: Callable[[str], str] | None = None,
        *,
        shared: bool = False,
    ) -> None:
        self.con = con
        self.lake_root = lake_root
        self.redact = redact
        #: other processes write the same tables at once (DuckLake on PostgreSQL)
        self.shared = shared
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
        """Record the stream's state in this transaction (appended on a shared backend,
        see :mod:`.state`)."""
        _state.set_state(self.con, stream, state, append=self.shared)

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
    """Tables on a backend + a Parquet lake. Cheap to construct; a DuckDB file is opened
    only per operation.

    ``location`` is a ``CONNECTOR_WAREHOUSE`` value (a DuckDB file path, ``ducklake:...``)
    or a :mod:`.backends` object; its settings (data path, S3, PostgreSQL password) are
    read from the environment when the string is given.
    """

    def __init__(
        self,
        location: str | Path | Backend,
        lake_root: str | Path,
        *,
        lock_timeout_s: float = 120.0,
        migrations_dir: str | Path | None = None,
        redact: Callable[[str], str] | None = None,
        memory_limit: str = DEFAULT_MEMORY_LIMIT,
    ) -> None:
        self.backend: Backend = (
            location if not isinstance(location, str | Path) else backend_from(location)
        )
        # A cap keeps a sync's memory flat as the catalog grows (DuckDB's default is 80%
        # of RAM).
        self.memory_limit = memory_limit
        self.lake_root = Path(lake_root).absolute()
        self.lock_timeout_s = float(lock_timeout_s)
        self.migrations_dir = (
            Path(migrations_dir) if migrations_dir is not None else _migrations.MIGRATIONS_DIR
        )
        self.redact = redact
        #: how many times opening the file had to wait for another process's lock
        self.lock_waits = 0
        #: how many transactions ``transact`` ran again after a commit conflict
        self.conflicts = 0
        self._migrated = False
        self._migrate_lock = threading.Lock()

    @classmethod
    def from_env(cls, **kwargs: Any) -> Warehouse:
        """``CONNECTOR_WAREHOUSE`` (default data/warehouse.duckdb; see :mod:`.backends`)
        and ``CONNECTOR_LAKE`` (default data/lake)."""
        return cls(
            os.environ.get("CONNECTOR_WAREHOUSE") or DEFAULT_WAREHOUSE,
            os.environ.get("CONNECTOR_LAKE") or DEFAULT_LAKE,
            **kwargs,
        )

    @property
    def path(self) -> Path | None:
        """The DuckDB file (or DuckLake catalog file); None for a PostgreSQL catalog."""
        return self.backend.path

    @property
    def location(self) -> str:
        """Where the tables live, for people (never a credential)."""
        return self.backend.location

    @property
    def shared(self) -> bool:
        """Other processes write at the same time (DuckLake on PostgreSQL)."""
        return not self.backend.exclusive

    def __repr__(self) -> str:
        return f"Warehouse({self.location!r}, {str(self.lake_root)!r})"

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
    @contextmanager
    def _session(self, *, migrate: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        with self.backend.session(
            timeout_s=self.lock_timeout_s,
            memory_limit=self.memory_limit,
            on_wait=self._count_lock_wait,
        ) as con:
            con.execute("SET TimeZone = 'UTC'")
            con.execute("SET enable_progress_bar = false")
            if migrate:
                self._ensure_migrated(con)
            yield con

    def _count_lock_wait(self) -> None:
        self.lock_waits += 1

    def _ensure_migrated(self, con: duckdb.DuckDBPyConnection) -> None:
        if self._migrated:
            return
        with self._migrate_lock:
            if not self._migrated:
                self._apply_migrations(con)
                self._migrated = True

    def _apply_migrations(self, con: duckdb.DuckDBPyConnection) -> list[_migrations.Migration]:
        # Several processes may migrate a new DuckLake at once: the losers of a conflict
        # look again (the winner's versions are then applied) until nothing is pending.
        return self._retry_conflicts(lambda: _migrations.apply_pending(con, self.migrations_dir))

    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for queries (no transaction opened); closed on exit."""
        with self._session() as con:
            yield con

    @contextmanager
    def write(self) -> Iterator[WriteTx]:
        """One transaction: COMMIT on normal exit, ROLLBACK (and delete the Parquet files
        landed in it) on exception. On a shared backend the COMMIT may fail with a
        conflict: use :meth:`transact` to have the body run again."""
        with self._session() as con:
            tx = WriteTx(con, self.lake_root, self.redact, shared=self.shared)
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

    def transact(self, fn: Callable[[WriteTx], T]) -> T:
        """``fn(tx)`` in one transaction, committed; returns its result. When the commit
        conflicts with another writer's (DuckLake), ``fn`` runs again from the start in a
        new transaction, after a jittered pause, until it commits; past ``lock_timeout_s``
        :class:`WarehouseConflictError` is raised and nothing of ``fn`` is kept. ``fn``
        must therefore be safe to run again: it may only write through ``tx``."""

        def once() -> T:
            with self.write() as tx:
                return fn(tx)

        return self._retry_conflicts(once)

    def _retry_conflicts(self, once: Callable[[], T]) -> T:
        deadline = time.monotonic() + self.lock_timeout_s
        delay = 0.01
        while True:
            try:
                return once()
            except duckdb.Error as exc:
                if not is_conflict(exc):
                    raise
                self.conflicts += 1
                if time.monotonic() >= deadline:
                    raise WarehouseConflictError(
                        f"{self.location}: a transaction kept conflicting with other writers "
                        f"for {self.lock_timeout_s:g}s ({self.conflicts} conflicts): {exc}"
                    ) from exc
                log.info("commit conflict with another writer; running the transaction again")
                time.sleep(random.uniform(0, delay))
                delay = min(delay * 2, 1.0)

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
        with self._migrate_lock, self._session(migrate=False) as con:
            applied = self._apply_migrations(con)
            self._migrated = True
        return applied

    def log_run(self, record: RunRecord, redact: Callable[[str], str] | None = None) -> bool:
        """Record a finished run in meta.runs (and, on a shared backend, drop the stream's
        superseded states); never raises (the run log must not hide the run's own error).
        Returns whether it was written."""

        def body(tx: WriteTx) -> None:
            tx.record_run(record, redact)
            if tx.shared:
                _state.prune(tx.con, record.stream)

        try:
            self.transact(body)
            return True
        except Exception:
            log.exception("could not record run %s in meta.runs", record.run_id)
            return False

    def recover_lake(self, stream: str) -> list[Path]:
        """Delete the stream's ``*.tmp`` files and Parquet files with no ledger row (orphans
        of a run that crashed before committing); returns the removed paths. On an
        exclusive backend the file lock is held meanwhile, so no other process can be
        landing files; on a shared one only files older than ``lake.ORPHAN_GRACE_S`` go,
        since another process may be about to commit a younger one."""
        min_age = _lake.ORPHAN_GRACE_S if self.shared else 0.0
        with self.read() as con:
            return _lake.recover(con, self.lake_root, stream, min_age_s=min_age)
