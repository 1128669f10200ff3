"""One DuckDB instance per process for a DuckLake warehouse: extensions loaded offline from
their PyPI packages, the S3 secret created, the lake attached as ``wh``.

Loading the extensions costs about half a second per DuckDB instance, so unlike the DuckDB
file backend the instance outlives operations: each operation gets a cursor of its own
(``acquire``/``release``), which threads may use at the same time. A DuckLake whose catalog
is a DuckDB file keeps the one-process lock of that file, so there the lake is attached when
the first cursor of the process is taken and detached when the last one is released; a
PostgreSQL catalog stays attached.

The extensions come from the ``duckdb-extension-ducklake``, ``-postgres`` and ``-httpfs``
packages (``pip install 'video-catalog-connector[lake]'``), never from the network:
autoinstall and autoload of known extensions are off. DuckDB names an extension's entry
point after its file name, and the packages ship ``postgres.duckdb_extension`` for the
extension called ``postgres_scanner``, so the files are loaded through symlinks named as
DuckDB expects, in a folder private to the process (which also holds the instance's spill
files: the memory cap applies as on a DuckDB file).
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from connector import secrets

if TYPE_CHECKING:
    from .backends import DuckLake

ALIAS = "wh"
# extension name -> PyPI package, file inside the package's extensions/v<duckdb>/ folder
PACKAGES = {
    "ducklake": ("duckdb_extension_ducklake", "ducklake"),
    "postgres_scanner": ("duckdb_extension_postgres", "postgres"),
    "httpfs": ("duckdb_extension_httpfs", "httpfs"),
}

_lock = threading.Lock()
_instances: dict[tuple, _Instance] = {}
_links: dict[int, Path] = {}


class ExtensionMissingError(RuntimeError):
    """A DuckDB extension the backend needs is not installed for this duckdb version."""


def extension_file(name: str) -> Path:
    """The ``.duckdb_extension`` file that the PyPI package of extension ``name`` ships."""
    package, stem = PACKAGES[name]
    spec = importlib.util.find_spec(package)
    version = duckdb.__version__
    path = None
    if spec is not None and spec.origin is not None:
        path = Path(spec.origin).parent / "extensions" / f"v{version}" / f"{stem}.duckdb_extension"
    if path is None or not path.is_file():
        raise ExtensionMissingError(
            f"the DuckDB extension {name!r} for duckdb {version} is not installed: "
            f"pip install 'video-catalog-connector[lake]' (package {package.replace('_', '-')})"
        )
    return path


def _link_folder() -> Path:
    pid = os.getpid()
    folder = _links.get(pid)
    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix="connector-duckdb-ext-"))
        atexit.register(shutil.rmtree, folder, True)
        _links[pid] = folder
    return folder


def load_extensions(con: duckdb.DuckDBPyConnection, names: list[str]) -> None:
    """LOAD each named extension from its package file (no download)."""
    folder = _link_folder()
    for name in names:
        link = folder / f"{name}.duckdb_extension"
        if not link.exists():
            link.symlink_to(extension_file(name))
        con.execute(f"LOAD '{link}'")


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _s3_secret_sql(lake: DuckLake) -> str:
    s3 = lake.s3
    assert s3 is not None
    bucket = lake.data_path[len("s3://") :].split("/", 1)[0]
    parts = [
        "TYPE s3",
        f"KEY_ID {_quote(s3.key_id)}",
        f"SECRET {_quote(s3.secret)}",
        f"REGION {_quote(s3.region)}",
        f"URL_STYLE {_quote(s3.url_style)}",
        f"USE_SSL {'true' if s3.use_ssl else 'false'}",
        f"SCOPE {_quote('s3://' + bucket)}",
    ]
    if s3.endpoint:
        parts.append(f"ENDPOINT {_quote(s3.endpoint)}")
    if s3.session_token:
        parts.append(f"SESSION_TOKEN {_quote(s3.session_token)}")
    return f"CREATE OR REPLACE SECRET wh_s3 ({', '.join(parts)})"


class _Instance:
    """The process's DuckDB instance for one lake, and how many cursors are out."""

    def __init__(self, lake: DuckLake, memory_limit: str) -> None:
        self.lake = lake
        self.db = duckdb.connect(
            config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
        )
        names = ["ducklake"]
        if lake.on_postgres:
            names.append("postgres_scanner")
        if lake.s3 is not None:
            names.append("httpfs")
        load_extensions(self.db, names)
        self.db.execute(f"SET memory_limit = '{memory_limit}'")
        # An in-memory instance has nowhere to spill: joins over a large table (the upsert's
        # classification) would run out of the capped memory instead of using the disk.
        self.db.execute(f"SET temp_directory = '{_link_folder() / 'spill'}'")
        threads = os.environ.get("CONNECTOR_DUCKDB_THREADS") or ("1" if lake.s3 else None)
        if threads:
            # Scans of Parquet on S3 hold read buffers per thread that do not spill: with two
            # threads a 100,000-row checkpoint against a 300,000-row table exceeded the 192MB
            # cap, with one it stays under it (bench/warehouse_backends.py, 1M assets).
            self.db.execute(f"SET threads = {int(threads)}")
        if lake.s3 is not None:
            self.db.execute(_s3_secret_sql(lake))
        self.users = 0
        self.attached = False
        self.lock = threading.Lock()

    def attach(self, target: str) -> None:
        """ATTACH the lake; an error's text goes through the scrubber (it may quote the
        connection string)."""
        sql = f"ATTACH {_quote(target)} AS {ALIAS} (DATA_PATH {_quote(self.lake.data_path)})"
        try:
            self.db.execute(sql)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise  # retried by the caller while another process holds the catalog
            raise type(exc)(secrets.scrub(str(exc))) from None
        except duckdb.Error as exc:
            raise type(exc)(secrets.scrub(str(exc))) from None

    def acquire(self, attach: Callable[[Callable[[str], None]], None]) -> duckdb.DuckDBPyConnection:
        """A new cursor using the lake; ``attach(self.attach)`` attaches it when needed."""
        with self.lock:
            if not self.attached:
                attach(self.attach)
                self.attached = True
            self.users += 1
        try:
            con = self.db.cursor()
            con.execute(f"USE {ALIAS}")
            return con
        except BaseException:
            self._done()
            raise

    def release(self, con: duckdb.DuckDBPyConnection) -> None:
        try:
            con.close()
        finally:
            self._done()

    def _done(self) -> None:
        with self.lock:
            self.users -= 1
            if self.users == 0 and self.lake.exclusive and self.attached:
                self.db.execute(f"DETACH {ALIAS}")  # let other processes have the catalog
                self.attached = False


def instance(lake: DuckLake, memory_limit: str) -> _Instance:
    """This process's instance for ``lake`` (a new one after a fork)."""
    key = (os.getpid(), lake.catalog, lake.data_path, memory_limit)
    with _lock:
        found = _instances.get(key)
        if found is None:
            found = _instances[key] = _Instance(lake, memory_limit)
        return found


def close_all() -> None:
    """Close this process's DuckLake instances (tests, benchmarks)."""
    with _lock:
        for key in [k for k in _instances if k[0] == os.getpid()]:
            _instances.pop(key).db.close()
