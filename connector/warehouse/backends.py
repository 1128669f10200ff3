"""Where the warehouse's tables live, chosen by ``CONNECTOR_WAREHOUSE`` (README, "Warehouse
backends"); the SQL is the same on every backend.

* **a path** (default ``data/warehouse.duckdb``): one DuckDB file. One process at a time
  may open it, so every operation opens it, retrying with jittered backoff while another
  process holds its lock, and closes it at once (``exclusive``).
* ``ducklake:<catalog file>``: a DuckLake whose catalog is a DuckDB file and whose data
  files go to ``CONNECTOR_LAKE_DATA_PATH`` (default ``<catalog file>.files/``, a local
  folder or ``s3://bucket/prefix/``). Snapshots and time travel on one machine; the catalog
  file has the same one-process lock as a DuckDB file (``exclusive``).
* ``ducklake:postgres:<libpq key=value list>`` (e.g. ``ducklake:postgres:dbname=lake
  host=db.internal port=5432 user=connector``): a DuckLake whose catalog is a PostgreSQL
  database, data files at ``CONNECTOR_LAKE_DATA_PATH`` (required; ``s3://...`` for several
  machines). Many processes on many machines write at once: DuckLake commits optimistically
  and a transaction that conflicts with one committed meanwhile fails at COMMIT, which
  ``Warehouse.transact`` retries. The password comes from ``CONNECTOR_PG_PASSWORD`` or
  ``PGPASSWORD``, never from ``CONNECTOR_WAREHOUSE`` (which is shown to people).

S3 settings (only for an ``s3://`` data path): ``AWS_ACCESS_KEY_ID`` and
``AWS_SECRET_ACCESS_KEY`` (required), ``AWS_SESSION_TOKEN``, ``AWS_REGION`` (or
``AWS_DEFAULT_REGION``; default ``us-east-1``), ``CONNECTOR_S3_ENDPOINT`` for S3-compatible
storage (``http://host:port`` or ``https://host``; unset = AWS) and ``CONNECTOR_S3_URL_STYLE``
(``path`` or ``vhost``; default ``path`` with an endpoint, else ``vhost``). Every credential
is registered with :func:`connector.secrets.register_secret`, so it is masked in logs and
errors, and no ``repr`` shows it. ``CONNECTOR_DUCKDB_THREADS`` sets DuckDB's threads of a
DuckLake process (default 1 with an ``s3://`` data path, see :mod:`._ducklake`).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import duckdb

from connector import secrets
from connector.config import MissingConfigError

from . import _ducklake

T = TypeVar("T")

PREFIX = "ducklake:"
POSTGRES_PREFIX = "postgres:"


class WarehouseConfigError(ValueError):
    """CONNECTOR_WAREHOUSE (or a variable it needs) has a value the warehouse cannot use."""


class WarehouseLockTimeout(TimeoutError):
    """The database file stayed locked by another process for longer than lock_timeout_s."""


def is_lock_error(exc: BaseException) -> bool:
    """DuckDB could not open a file another process holds open for writing."""
    text = str(exc).lower()
    return isinstance(exc, duckdb.IOException) and (
        "lock" in text or "resource temporarily unavailable" in text
    )


def is_init_race(exc: BaseException) -> bool:
    """Several processes attached a new DuckLake at once and another one is creating its
    catalog tables in PostgreSQL (the loser's CREATE TABLE hits a duplicate type name)."""
    text = str(exc)
    return (
        isinstance(exc, duckdb.Error)
        and "Failed to initialize DuckLake" in text
        and ("duplicate key" in text or "already exists" in text)
    )


def retry_locked(
    open_fn: Callable[[], T],
    what: str,
    timeout_s: float,
    on_wait: Callable[[], None],
    also: Callable[[BaseException], bool] = lambda exc: False,
) -> T:
    """``open_fn()``, retried with jittered exponential backoff (5 ms doubling to 250 ms)
    while it fails on a file lock (or an error ``also`` accepts), for up to ``timeout_s``;
    ``on_wait`` counts each wait."""
    deadline = time.monotonic() + timeout_s
    delay = 0.005
    while True:
        try:
            return open_fn()
        except duckdb.Error as exc:
            if not (is_lock_error(exc) or also(exc)):
                raise
            on_wait()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WarehouseLockTimeout(
                    f"{what} stayed locked by another process for {timeout_s:g}s: {exc}"
                ) from None
            time.sleep(min(remaining, random.uniform(0, delay)))
            delay = min(delay * 2, 0.25)


@dataclass(frozen=True)
class DuckDBFile:
    """One DuckDB file (the default backend)."""

    path: Path
    kind: str = "duckdb"
    exclusive: bool = True

    @property
    def location(self) -> str:
        return str(self.path)

    @contextmanager
    def session(
        self, *, timeout_s: float, memory_limit: str, on_wait: Callable[[], None]
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection of its own to the file, closed on exit."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = retry_locked(
            lambda: duckdb.connect(str(self.path)), str(self.path), timeout_s, on_wait
        )
        try:
            # DuckDB's buffer cache otherwise grows with the tables a sync scans (its
            # default is 80% of RAM); joins that need more spill to <file>.tmp.
            con.execute(f"SET memory_limit = '{memory_limit}'")
            yield con
        finally:
            con.close()


@dataclass(frozen=True)
class S3Settings:
    """How DuckDB reaches an S3 bucket (credentials hidden from ``repr``)."""

    key_id: str = field(repr=False)
    secret: str = field(repr=False)
    region: str = "us-east-1"
    endpoint: str | None = None  # host[:port], no scheme
    use_ssl: bool = True
    url_style: str = "vhost"
    session_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> S3Settings:
        """The S3 variables of the module docstring; raises naming every missing one."""
        missing = [n for n in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY") if not _get(env, n)]
        if missing:
            raise MissingConfigError("warehouse (s3:// data path)", missing)
        endpoint, use_ssl = _get(env, "CONNECTOR_S3_ENDPOINT"), True
        if endpoint:
            use_ssl = not endpoint.startswith("http://")
            endpoint = endpoint.split("://", 1)[-1].rstrip("/")
        style = _get(env, "CONNECTOR_S3_URL_STYLE") or ("path" if endpoint else "vhost")
        if style not in ("path", "vhost"):
            raise WarehouseConfigError(
                f"CONNECTOR_S3_URL_STYLE must be path or vhost, got {style!r}"
            )
        settings = cls(
            key_id=_get(env, "AWS_ACCESS_KEY_ID") or "",
            secret=_get(env, "AWS_SECRET_ACCESS_KEY") or "",
            region=_get(env, "AWS_REGION") or _get(env, "AWS_DEFAULT_REGION") or "us-east-1",
            endpoint=endpoint,
            use_ssl=use_ssl,
            url_style=style,
            session_token=_get(env, "AWS_SESSION_TOKEN"),
        )
        secrets.register_secrets([settings.secret, settings.session_token])
        return settings


@dataclass(frozen=True)
class DuckLake:
    """A DuckLake catalog (a DuckDB file, or PostgreSQL) plus its data path."""

    catalog: str  # what follows "ducklake:" (a file path, or "postgres:<key=value ...>")
    data_path: str  # a local folder or s3://bucket/prefix/ (always ending in "/")
    s3: S3Settings | None = None
    pg_password: str | None = field(default=None, repr=False)
    kind: str = "ducklake"

    @property
    def on_postgres(self) -> bool:
        return self.catalog.startswith(POSTGRES_PREFIX)

    @property
    def exclusive(self) -> bool:
        """A DuckDB-file catalog is locked by the one process that has it attached."""
        return not self.on_postgres

    @property
    def path(self) -> Path | None:
        return None if self.on_postgres else Path(self.catalog)

    @property
    def location(self) -> str:
        return f"{PREFIX}{self.catalog} (data: {self.data_path})"

    @contextmanager
    def session(
        self, *, timeout_s: float, memory_limit: str, on_wait: Callable[[], None]
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor of this process's DuckDB instance with the lake attached and in use."""
        instance = _ducklake.instance(self, memory_limit)
        con = instance.acquire(lambda attach: self._attach(attach, timeout_s, on_wait))
        try:
            yield con
        finally:
            instance.release(con)

    def _attach(
        self, attach: Callable[[str], None], timeout_s: float, on_wait: Callable[[], None]
    ) -> None:
        target = self.catalog
        if self.on_postgres and self.pg_password:
            target += f" password={_conninfo_value(self.pg_password)}"
        if not self.on_postgres:
            Path(self.catalog).parent.mkdir(parents=True, exist_ok=True)
            if not self.data_path.startswith("s3://"):
                Path(self.data_path).mkdir(parents=True, exist_ok=True)
        retry_locked(
            lambda: attach(PREFIX + target), self.catalog, timeout_s, on_wait, is_init_race
        )


Backend = DuckDBFile | DuckLake


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    return value.strip() if value and value.strip() else None


def _conninfo_value(value: str) -> str:
    """A libpq key=value value, quoted (single quotes, backslash escapes)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _check_conninfo(conninfo: str) -> None:
    words = {part.split("=", 1)[0].strip().lower() for part in conninfo.split() if "=" in part}
    if "password" in words:
        raise WarehouseConfigError(
            "CONNECTOR_WAREHOUSE must not carry the PostgreSQL password (it is shown in logs "
            "and in the Dagster UI): set CONNECTOR_PG_PASSWORD or PGPASSWORD instead"
        )
    if not words or "dbname" not in words:
        raise WarehouseConfigError(
            "ducklake:postgres: needs a libpq key=value list with at least dbname, e.g. "
            "ducklake:postgres:dbname=lake host=127.0.0.1 port=5432 user=connector"
        )


def _data_path(value: str) -> str:
    if value.startswith("s3://"):
        if len(value) <= len("s3://") or value[len("s3://")] == "/":
            raise WarehouseConfigError(f"CONNECTOR_LAKE_DATA_PATH has no bucket: {value!r}")
        return value.rstrip("/") + "/"
    if "://" in value:
        raise WarehouseConfigError(
            f"CONNECTOR_LAKE_DATA_PATH must be a local folder or s3://bucket/prefix, got {value!r}"
        )
    return str(Path(value).absolute()) + "/"


def backend_from(spec: str | Path, env: Mapping[str, str] | None = None) -> Backend:
    """The backend ``spec`` (a ``CONNECTOR_WAREHOUSE`` value) names, with its settings from
    ``env`` (default: the process environment)."""
    env = os.environ if env is None else env
    text = str(spec)
    if not text.startswith(PREFIX):
        return DuckDBFile(Path(text).absolute())
    catalog = text[len(PREFIX) :].strip()
    if not catalog:
        raise WarehouseConfigError("CONNECTOR_WAREHOUSE=ducklake: needs a catalog after the colon")
    data = _get(env, "CONNECTOR_LAKE_DATA_PATH")
    password = None
    if catalog.startswith(POSTGRES_PREFIX):
        _check_conninfo(catalog[len(POSTGRES_PREFIX) :])
        if data is None:
            raise MissingConfigError("warehouse (ducklake:postgres)", ["CONNECTOR_LAKE_DATA_PATH"])
        password = _get(env, "CONNECTOR_PG_PASSWORD") or _get(env, "PGPASSWORD")
        secrets.register_secret(password)
    else:
        catalog = str(Path(catalog).absolute())
        data = data or catalog + ".files"
    data_path = _data_path(data)
    s3 = S3Settings.from_env(env) if data_path.startswith("s3://") else None
    return DuckLake(catalog, data_path, s3, password)
