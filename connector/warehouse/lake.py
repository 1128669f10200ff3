"""The Parquet lake: immutable files per landed batch, with a ledger in meta.lake_files.

Layout: ``<lake_root>/<stream>/date=YYYY-MM-DD/<run_id>-<seq>.parquet`` (date = UTC date of
landing, seq = 5-digit counter per stream, day and run). A file is written to a ``.tmp``
beside its final name, fsynced, then ``os.replace``d into place (and the directory fsynced);
its ledger row is inserted in the caller's transaction. So:

* the transaction commits -> the file and its ledger row both exist;
* the transaction rolls back (an exception in ``write()``) -> the WriteTx deletes the files it
  landed;
* the process dies before the commit -> a file with no ledger row is left: an orphan, which
  ``Warehouse.recover_lake(stream)`` deletes (together with stray ``.tmp`` files). The
  stream's cursor did not advance either, so the re-run lands that data again. When other
  processes write at the same time (DuckLake on PostgreSQL), a file without a ledger row
  may belong to a transaction about to commit, so only files older than
  ``ORPHAN_GRACE_S`` count as orphans there.

Ledger paths are stored relative to the lake root, POSIX-style, so the lake can move.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

#: age past which a file without a ledger row is an orphan when other processes write too
ORPHAN_GRACE_S = 3600.0

_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_SEQ = re.compile(r"-(\d+)\.parquet$")

# Paths being written by a transaction of this process that has not finished yet: never
# treated as orphans by recover_lake (other processes cannot run recover_lake meanwhile:
# it holds the database file's lock, which a writing process holds for its whole tx).
_in_flight: set[Path] = set()
_lock = threading.Lock()


def _check_name(kind: str, value: str) -> str:
    if not _SAFE.match(value) or ".." in value:
        raise ValueError(f"{kind} must match [A-Za-z0-9][A-Za-z0-9_.-]*, got {value!r}")
    return value


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _next_seq(directory: Path, run_id: str) -> int:
    prefix = f"{run_id}-"
    seq = 0
    for p in directory.iterdir():
        name = p.name.removesuffix(".tmp")
        if name.startswith(prefix):
            m = _SEQ.search(name)
            if m and name == f"{run_id}-{m[1]}.parquet":
                seq = max(seq, int(m[1]))
    return seq + 1


def land(
    con: duckdb.DuckDBPyConnection,
    lake_root: Path,
    stream: str,
    batch: pa.Table | pa.RecordBatch,
    run_id: str,
    *,
    compression: str = "zstd",
) -> Path | None:
    """Write ``batch`` as a new immutable Parquet file and add its ledger row (in ``con``'s
    transaction). Returns the file's absolute path, or None for an empty batch."""
    _check_name("stream", stream)
    _check_name("run_id", run_id)
    if isinstance(batch, pa.RecordBatch):
        batch = pa.Table.from_batches([batch])
    if batch.num_rows == 0:
        return None
    now = datetime.now(UTC)
    directory = Path(lake_root) / stream / f"date={now:%Y-%m-%d}"
    directory.mkdir(parents=True, exist_ok=True)
    with _lock:
        seq = _next_seq(directory, run_id)
        final = directory / f"{run_id}-{seq:05d}.parquet"
        tmp = final.with_name(final.name + ".tmp")
        _in_flight.add(final)
        _in_flight.add(tmp)
        # Reserve the name at once so a concurrent thread picks the next seq.
        tmp.touch()
    try:
        with open(tmp, "wb") as f:
            pq.write_table(batch, f, compression=compression)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, final)
        _fsync_dir(directory)
        size = final.stat().st_size
        rel = final.relative_to(lake_root).as_posix()
        con.execute(
            'INSERT INTO meta.lake_files (path, stream, run_id, "rows", bytes, created_at) '
            "VALUES (?, ?, ?, ?, ?, ?)",
            [rel, stream, run_id, batch.num_rows, size, now],
        )
    except BaseException:
        discard([final, tmp])
        raise
    finally:
        with _lock:
            _in_flight.discard(tmp)
    return final


def discard(paths: list[Path]) -> None:
    """Delete files landed by a transaction that did not commit (best effort)."""
    for p in paths:
        with contextlib.suppress(OSError):
            p.unlink(missing_ok=True)
    release(paths)


def release(paths: list[Path]) -> None:
    with _lock:
        for p in paths:
            _in_flight.discard(p)


def recover(
    con: duckdb.DuckDBPyConnection, lake_root: Path, stream: str, *, min_age_s: float = 0.0
) -> list[Path]:
    """Delete ``*.tmp`` files and Parquet files without a ledger row under the stream's
    folder, if last modified at least ``min_age_s`` ago; return the removed paths. With
    ``min_age_s=0``, ``con`` must hold the database (file lock)."""
    _check_name("stream", stream)
    root = Path(lake_root)
    base = root / stream
    if not base.is_dir():
        return []
    # In-flight files of this process first, the ledger second: a file that leaves the
    # in-flight set in between was committed before the ledger is read, so it is in it.
    with _lock:
        busy = set(_in_flight)
    known = {
        r[0]
        for r in con.execute(
            "SELECT path FROM meta.lake_files WHERE stream = ?", [stream]
        ).fetchall()
    }
    removed: list[Path] = []
    born_before = time.time() - min_age_s
    for p in sorted(base.rglob("*")):
        if not p.is_file() or p in busy or (min_age_s and p.stat().st_mtime > born_before):
            continue
        if p.name.endswith(".tmp") or (
            p.suffix == ".parquet" and p.relative_to(root).as_posix() not in known
        ):
            p.unlink(missing_ok=True)
            removed.append(p)
    for d in sorted((d for d in base.rglob("*") if d.is_dir()), reverse=True):
        with contextlib.suppress(OSError):
            d.rmdir()  # only succeeds when empty
    return removed
