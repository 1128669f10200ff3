"""Two OS processes writing the same DuckDB file at once: both must succeed (lock retries)."""

from __future__ import annotations

import multiprocessing as mp
import time
from pathlib import Path

import pyarrow as pa

from connector.warehouse import Warehouse
from connector.warehouse.migrations import MIGRATIONS_DIR

N_TX = 10


def _writer(path: str, lake: str, who: str, holding, go, results) -> None:
    wh = Warehouse(path, lake, lock_timeout_s=60)
    try:
        if who == "A":
            # Hold a write transaction open for a while so that B must wait for the lock.
            with wh.write() as tx:
                holding.set()
                tx.set_state("stream_A", {"i": -1})
                time.sleep(0.3)
        else:
            holding.wait(30)
        go.wait(30)
        for i in range(N_TX):
            with wh.write() as tx:
                batch = pa.table(
                    {
                        "stream": [f"{who}_{i}"],
                        "record_id": [str(i)],
                        "reason": ["r"],
                        "payload": ["{}"],
                    }
                )
                tx.insert_new("meta.rejects", batch, ["stream", "record_id", "reason"])
                tx.set_state(f"stream_{who}", {"i": i})
                tx.land(f"stream_{who}", batch, f"run{who}")
        results.put((who, "ok", wh.lock_waits))
    except BaseException as exc:  # report, don't hang the parent
        results.put((who, f"{type(exc).__name__}: {exc}", wh.lock_waits))
        raise


def test_two_processes_write_without_lock_errors(tmp_path: Path):
    assert MIGRATIONS_DIR.is_dir()
    ctx = mp.get_context("spawn")
    holding, go, results = ctx.Event(), ctx.Event(), ctx.Queue()
    path, lake = str(tmp_path / "wh.duckdb"), str(tmp_path / "lake")
    procs = [
        ctx.Process(target=_writer, args=(path, lake, who, holding, go, results))
        for who in ("A", "B")
    ]
    for p in procs:
        p.start()
    go.set()
    for p in procs:
        p.join(120)
    got = {who: (status, waits) for who, status, waits in (results.get(timeout=5) for _ in procs)}
    assert [p.exitcode for p in procs] == [0, 0], got
    assert got["A"][0] == "ok" and got["B"][0] == "ok", got
    assert got["B"][1] >= 1, "B never had to wait for A's lock: the test proved nothing"

    wh = Warehouse(path, lake)
    with wh.read() as con:
        assert con.execute("SELECT count(*) FROM meta.rejects").fetchone()[0] == 2 * N_TX
        states = dict(con.execute("SELECT stream, state->>'$.i' FROM meta.sync_state").fetchall())
        assert states == {"stream_A": str(N_TX - 1), "stream_B": str(N_TX - 1)}
        assert con.execute("SELECT count(*) FROM meta.lake_files").fetchone()[0] == 2 * N_TX
        assert con.execute("SELECT max(version) FROM meta.schema_migrations").fetchone()[0] >= 1
    assert wh.recover_lake("stream_A") == [] and wh.recover_lake("stream_B") == []


def _hold(path: str, lake: str, holding, seconds: float) -> None:
    wh = Warehouse(path, lake)
    with wh.write() as tx:
        tx.set_state("holder", {"held": True})
        holding.set()
        time.sleep(seconds)


def test_lock_timeout_is_a_clear_error(tmp_path: Path):
    from connector.warehouse import WarehouseLockTimeout

    ctx = mp.get_context("spawn")
    holding = ctx.Event()
    path, lake = str(tmp_path / "wh.duckdb"), str(tmp_path / "lake")
    proc = ctx.Process(target=_hold, args=(path, lake, holding, 1.5))
    proc.start()
    try:
        assert holding.wait(30)
        wh = Warehouse(path, lake, lock_timeout_s=0.3)
        try:
            with wh.write():
                raise AssertionError("opened a file another process holds")
        except WarehouseLockTimeout as exc:
            assert "locked by another process" in str(exc)
        assert wh.lock_waits >= 1
    finally:
        proc.join(30)
    assert proc.exitcode == 0
    with Warehouse(path, lake).read() as con:  # released once the holder is done
        assert con.execute("SELECT count(*) FROM meta.sync_state").fetchone()[0] == 1
