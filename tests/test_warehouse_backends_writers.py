"""Many writers on one DuckLake (PostgreSQL catalog + S3 data, real servers on loopback):
a commit conflict replays the whole transaction and loses nothing, a writer killed in the
middle of its commit leaves the catalog consistent and the re-run converges, and Dagster
keeps its runs and events in PostgreSQL with the shipped deploy/dagster-postgres.yaml."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pyarrow as pa
import pytest

from connector.kit import Checkpointer, SyncReport
from connector.warehouse import Warehouse, _ducklake
from connector.warehouse.lake import ORPHAN_GRACE_S
from connector.warehouse.migrations import MIGRATIONS_DIR
from tests.lake_fixtures import Lake, tables
from tests.uplynk_helpers import assert_matches_sandbox, run_uplynk

ROOT = Path(__file__).resolve().parent.parent
ITEMS_DDL = "CREATE TABLE IF NOT EXISTS raw.items (id VARCHAR NOT NULL, v BIGINT);"


@pytest.fixture
def lake(tmp_path) -> Lake:
    return Lake(tmp_path)


def _migrations(tmp: Path) -> Path:
    d = tmp / "migrations"
    d.mkdir()
    shutil.copy(MIGRATIONS_DIR / "0001_core.sql", d)
    (d / "0002_items.sql").write_text(ITEMS_DDL)
    return d


def _items(ids: list[str], v: int) -> pa.Table:
    return pa.table({"id": ids, "v": [v] * len(ids)})


def test_a_conflicting_commit_runs_the_checkpoint_again_and_counts_it_once(lake, tmp_path):
    wh = lake.warehouse(migrations_dir=_migrations(tmp_path))
    wh.transact(lambda tx: tx.upsert("raw.items", _items(["a", "b"], 1), ["id"]))
    report = SyncReport(run_id="r1")
    attempts = []

    def write(tx):
        attempts.append(1)
        report.inserted += tx.upsert("raw.items", _items(["c"], len(attempts)), ["id"]).inserted
        report.updated += tx.upsert("raw.items", _items(["a"], 10 + len(attempts)), ["id"]).updated
        if len(attempts) == 1:  # another writer replaces a row of the same table meanwhile
            wh.transact(lambda other: other.upsert("raw.items", _items(["b"], 9), ["id"]))

    checkpoints = Checkpointer(wh, "items", report)
    asyncio.run(checkpoints.submit(write, {"cursor": 1}, wait=True))

    assert len(attempts) == 2 and wh.conflicts == 1  # the first commit lost, then replayed
    assert wh.query("SELECT id, v FROM raw.items ORDER BY id") == [("a", 12), ("b", 9), ("c", 2)]
    assert (report.inserted, report.updated) == (1, 1)  # counted once
    assert checkpoints.committed == 1 and wh.get_state("items") == {"cursor": 1}


def test_states_of_two_streams_commit_at_once_without_a_conflict(lake):
    wh = lake.warehouse()
    for stream in ("a", "b"):
        wh.transact(lambda tx, stream=stream: tx.set_state(stream, {"n": 0}))
    attempts = []

    def body(tx):
        attempts.append(1)
        tx.set_state("a", {"n": 1})
        if len(attempts) == 1:  # another stream's checkpoint commits meanwhile
            wh.transact(lambda other: other.set_state("b", {"n": 1}))

    wh.transact(body)
    assert wh.conflicts == 0 and len(attempts) == 1
    assert (wh.get_state("a"), wh.get_state("b")) == ({"n": 1}, {"n": 1})


WRITER = textwrap.dedent(
    """
    import os, sys, time
    import pyarrow as pa
    from connector.warehouse import Warehouse, backend_from
    me, go = int(sys.argv[1]), sys.argv[2]
    wh = Warehouse(backend_from(os.environ["CONNECTOR_WAREHOUSE"]), os.environ["CONNECTOR_LAKE"],
                   migrations_dir=os.environ["MIGRATIONS"])
    while not os.path.exists(go):
        time.sleep(0.01)
    wh.migrate()  # all four create the new catalog and its tables at once
    ids = [f"w{me}-{i}" for i in range(100)]
    for n in range(5):
        def body(tx, n=n):
            tx.upsert("raw.items", pa.table({"id": ids, "v": [n] * 100}), ["id"])
            tx.set_state(f"w{me}", {"n": n})
        wh.transact(body)
    print(wh.conflicts)
    """
)


def test_four_processes_replacing_rows_of_one_table_lose_nothing(lake, tmp_path):
    migrations = _migrations(tmp_path)
    go = tmp_path / "go"
    env = {
        **os.environ,
        **lake.env,
        "CONNECTOR_LAKE": str(lake.lake_root),
        "MIGRATIONS": str(migrations),
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(me), str(go)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for me in range(4)
    ]
    time.sleep(1.0)
    go.touch()  # all four start at the same moment, on a catalog nobody has created yet
    conflicts = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err[-2000:]
        conflicts.append(int(out.split()[-1]))

    wh = lake.warehouse(migrations_dir=migrations)
    rows = wh.query("SELECT id, v FROM raw.items ORDER BY id")
    assert rows == sorted((f"w{me}-{i}", 4) for me in range(4) for i in range(100))
    assert [wh.get_state(f"w{me}") for me in range(4)] == [{"n": 4}] * 4
    assert sum(conflicts) > 0  # replacing rows of one table at once did conflict, and retried


LISTING_COMMITTED = re.compile(r"checkpoint \d+ committed: .* listing=\d+")


def _watch_stderr(proc: subprocess.Popen, lines: list[str], listing: threading.Event) -> None:
    for line in proc.stderr:  # type: ignore[union-attr]
        lines.append(line)
        if LISTING_COMMITTED.search(line):
            listing.set()


PENDING_COMMIT = """
    SELECT substring(query from 'ducklake_snapshot VALUES \\((\\d+),'), state
    FROM pg_stat_activity
    WHERE datname = %s AND state IN ('active', 'idle in transaction')
      AND query LIKE 'INSERT INTO "public".ducklake_snapshot VALUES%%'
"""


def _pending_snapshot(cur, db: str) -> tuple[int, str] | None:
    """(snapshot id, state) of a DuckLake commit that PostgreSQL is running, or has run and
    holds open waiting for the COMMIT that DuckLake sends after it."""
    cur.execute(PENDING_COMMIT, [db])
    row = cur.fetchone()
    return (int(row[0]), row[1]) if row else None


def _still_open(cur, db: str, snapshot: int) -> bool:
    """With the writer stopped: is its commit of ``snapshot`` left waiting for a COMMIT that
    cannot come? Seen idle in transaction for 0.2 s, after PostgreSQL has read whatever the
    writer had sent before it stopped (a COMMIT already in the socket still lands)."""
    seen = 0
    for _ in range(100):
        time.sleep(0.02)
        now = _pending_snapshot(cur, db)
        if now is None or now[0] != snapshot:
            return False
        seen = seen + 1 if now[1] == "idle in transaction" else 0
        if seen >= 10:
            return True
    return False


def _kill_mid_commit(proc: subprocess.Popen, lake: Lake, deadline_s: float = 120) -> int:
    """SIGKILL ``proc`` while one of its commits is open in PostgreSQL (it is stopped first,
    then the commit is seen still open); returns that snapshot's id."""
    deadline = time.monotonic() + deadline_s
    con = lake.pg.connect(lake.db)  # autocommit: each look is a fresh pg_stat_activity
    try:
        cur = con.cursor()
        while time.monotonic() < deadline and proc.poll() is None:
            pending = _pending_snapshot(cur, lake.db)
            if pending is None:
                continue
            proc.send_signal(signal.SIGSTOP)
            if _still_open(cur, lake.db, pending[0]):
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                return pending[0]
            proc.send_signal(signal.SIGCONT)  # it committed meanwhile: wait for the next
    finally:
        con.close()
    raise AssertionError("the writer finished (or timed out) before a commit could be caught")


def test_a_writer_killed_mid_commit_leaves_the_catalog_consistent(fresh_sandbox, lake):
    env = {**os.environ, **fresh_sandbox.env, **lake.env, "CONNECTOR_LAKE": str(lake.lake_root)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.lake_child", "uplynk", "--checkpoint-pages", "1",
         "--listing-checkpoint-rows", "100"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lines: list[str] = []
    # Wait until a checkpoint has recorded the first run's listing: killed before that, after
    # a feed checkpoint, a first run is not resumed as one (on a DuckDB file too: reported).
    listing = threading.Event()
    threading.Thread(target=_watch_stderr, args=(proc, lines, listing), daemon=True).start()
    assert listing.wait(120), "".join(lines)[-2000:]
    killed = _kill_mid_commit(proc, lake)

    committed = lake.pg.psql("SELECT snapshot_id FROM ducklake_snapshot ORDER BY 1", db=lake.db)
    ids = [int(x) for x in committed.split()]
    assert killed not in ids and ids == list(range(len(ids)))  # nothing half-written
    _ducklake.close_all()  # read as a new process would
    wh = lake.warehouse()
    for table in tables(wh):  # every table reads whole: each file the catalog names exists
        wh.query(f"SELECT * FROM {table}")
    assert wh.get_state("uplynk") is not None  # the state of a committed checkpoint

    run_uplynk(fresh_sandbox, wh)  # the re-run converges
    assert_matches_sandbox(fresh_sandbox, wh)
    dupes = wh.query(
        "SELECT count(*) FROM (SELECT asset_id FROM raw.uplynk_assets GROUP BY 1 HAVING count(*) > 1)"
    )
    assert dupes == [(0,)]


def test_dagster_keeps_runs_in_postgresql_and_materializes_a_group(
    fresh_sandbox, lake, tmp_path, monkeypatch
):
    import dagster as dg

    pg = lake.pg
    dagster_db = pg.create_database(f"dagster_{lake.db}")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "deploy" / "dagster-postgres.yaml", home / "dagster.yaml")
    for name, value in {
        **fresh_sandbox.env,
        **lake.env,
        "CONNECTOR_LAKE": str(lake.lake_root),
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_HOST": "127.0.0.1",
        "DAGSTER_PG_PORT": str(pg.port),
        "DAGSTER_PG_USER": "postgres",
        "DAGSTER_PG_PASSWORD": pg.password,
        "DAGSTER_PG_DB": dagster_db,
    }.items():
        monkeypatch.setenv(name, value)
    fresh_sandbox.reset(seed=7, assets=400)
    from assets_defs.resources import WarehouseResource
    from assets_defs.uplynk import UplynkResource, asset_checks, uplynk_sync

    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        result = dg.materialize(
            [uplynk_sync, *asset_checks],
            instance=instance,
            resources={
                "uplynk": UplynkResource.from_env(),
                "warehouse": WarehouseResource.from_env(),
            },
        )
        assert result.success
    # what another machine sees: the run and its materializations, in PostgreSQL
    runs = pg.psql("SELECT status FROM runs", db=dagster_db).split()
    assert runs == ["SUCCESS"]
    keys = pg.psql(
        "SELECT DISTINCT asset_key FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'",
        db=dagster_db,
    )
    assert "uplynk_assets" in keys
    assert_matches_sandbox(fresh_sandbox, Warehouse.from_env())  # and the rows, in the lake


def test_lake_recovery_on_a_shared_catalog_spares_files_another_writer_may_commit(lake):
    wh = lake.warehouse()
    wh.migrate()
    folder = lake.lake_root / "uplynk_assets" / "date=2026-01-01"
    folder.mkdir(parents=True)
    stray = folder / "run-of-another-process-00001.parquet"  # no ledger row (yet)
    stray.write_bytes(b"PAR1")
    assert wh.recover_lake("uplynk_assets") == []  # young: its transaction may still commit
    old = time.time() - ORPHAN_GRACE_S - 60
    os.utime(stray, (old, old))
    assert wh.recover_lake("uplynk_assets") == [stray]  # an orphan of a writer that died
