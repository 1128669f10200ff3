"""The warehouse on DuckLake (catalog in a real PostgreSQL, data files in a real S3 bucket,
both started by the tests on loopback, see tests/lake_servers.py) holds exactly what a
DuckDB file holds after the same syncs, table for table, whether the sources write one after
the other or all at once from separate processes.

One small sandbox world serves three warehouses through two rounds (a first sync, then an
incremental one after the sandbox's churn):

* a DuckDB file, the sources one after the other (the reference);
* DuckLake A, the sources one after the other, right after the file;
* DuckLake B, every source at once, each from its own process.

IBM and VALT sync at a fixed simulated now, so their rows do not depend on the wall clock.
Uplynk's cursor is the vendor's clock when a page was served, which moves between the
syncs, so its cursor (and with it the number of feed pages walked) is compared apart.
IRIS is left out here: one sync takes over 30 s even on a small world, and it reads other
sources' rows, so its result depends on their order (tests/README.md).
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest

from connector.warehouse import Warehouse
from tests.lake_child import run
from tests.lake_fixtures import Lake, differences, dump
from tests.lake_servers import PG_PASSWORD, S3_SECRET
from tests.uplynk_helpers import assert_matches_sandbox

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("uplynk", "ibm", "valt")
# Uplynk's cursor moves with the vendor's clock between two syncs (module docstring).
MOVING = {
    "meta.runs": {"cursor_before", "cursor_after", "requests"},
    "meta.sync_state": {"state"},
}


@dataclass
class World:
    file: Warehouse
    lake_a: Warehouse
    lake_b: Lake
    children: list[dict] = field(default_factory=list)  # the parallel writers' reports
    stderr: str = ""


def _at_once(sandbox, lake: Lake, now_ms: int) -> tuple[list[dict], str]:
    """Every source at once, one process each, into ``lake``."""
    env = {**os.environ, **sandbox.env, **lake.env, "CONNECTOR_LAKE": str(lake.lake_root)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.lake_child", source, "--now-ms", str(now_ms)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        for source in SOURCES
    ]
    reports, logs = [], []
    for source, proc in zip(SOURCES, procs, strict=True):
        out, err = proc.communicate(timeout=240)
        logs.append(err.decode(errors="replace"))
        assert proc.returncode == 0, f"{source} writer failed:\n{logs[-1][-3000:]}"
        reports.append(orjson.loads(out.splitlines()[-1]))
    return reports, "\n".join(logs)


@pytest.fixture(scope="module")
def world(sandbox, tmp_path_factory) -> World:
    sandbox.reset(seed=11, assets=300)
    sandbox.clear_faults()
    tmp = tmp_path_factory.mktemp("backends")
    lake_a, lake_b = Lake(tmp / "a"), Lake(tmp / "b")
    # Created before the writers start: what is compared is their syncs (several processes
    # creating one catalog at once is tested in test_warehouse_backends_writers.py).
    lake_b.warehouse().migrate()
    world = World(Warehouse(tmp / "file.duckdb", tmp / "file-lake"), lake_a.warehouse(), lake_b)
    with pytest.MonkeyPatch.context() as mp:
        for name, value in sandbox.env.items():
            mp.setenv(name, value)
        for round_ in (1, 2):
            if round_ == 2:
                sandbox.advance(seconds=3600, creates=30, updates=60, deletes=20)
            now = sandbox.now_ms()
            for source in SOURCES:
                run(source, world.file, now)
                run(source, world.lake_a, now)
            reports, logs = _at_once(sandbox, lake_b, now)
            world.children += reports
            world.stderr += logs
    return world


def test_every_source_on_ducklake_equals_duckdb_file(world, sandbox):
    problems = differences(dump(world.file, MOVING), dump(world.lake_a, MOVING))
    assert problems == [], "\n".join(problems)
    states = "SELECT stream, CAST(state AS VARCHAR) FROM meta.sync_state"
    file_states, lake_states = dict(world.file.query(states)), dict(world.lake_a.query(states))
    assert set(file_states) == set(lake_states) == {"uplynk", "valt"}  # IBM keeps no cursor
    assert file_states["valt"] == lake_states["valt"]
    f, a = orjson.loads(file_states["uplynk"]), orjson.loads(lake_states["uplynk"])
    assert f["cursor_ms"] <= a["cursor_ms"]  # the lake synced second
    assert (f["boundary"], f["listing"]) == (a["boundary"], a["listing"])
    assert_matches_sandbox(sandbox, world.lake_a)


def test_sources_writing_at_once_from_processes_lose_nothing(world, sandbox):
    lake_b = world.lake_b.warehouse()
    problems = differences(dump(world.file, MOVING), dump(lake_b, MOVING))
    assert problems == [], "\n".join(problems)
    assert_matches_sandbox(sandbox, lake_b)
    # each stream keeps one state row, and each run is logged once as ok
    per_stream = lake_b.query("SELECT stream, count(*) FROM meta.sync_state GROUP BY 1 ORDER BY 1")
    assert per_stream == [("uplynk", 1), ("valt", 1)]  # IBM keeps no cursor
    runs = lake_b.query("SELECT stream, status, count(*) FROM meta.runs GROUP BY ALL ORDER BY 1")
    assert runs == [(s, "ok", 2) for s in sorted(SOURCES)]
    # Different sources write different raw tables, and their checkpoints only append to the
    # tables they share (meta.*), which does not conflict. What may conflict is a run's
    # closing clean-up of its old states, with a commit of each other writer in flight: at
    # most k - 1 replays per run, k (k - 1) per round of k writers. (That appends do not
    # conflict is shown exactly by test_states_of_two_streams_commit_at_once_without_a_conflict.)
    k = len(SOURCES)
    assert sum(c["conflicts"] for c in world.children) <= 2 * k * (k - 1)


def test_local_ducklake_catalog_holds_what_a_duckdb_file_holds(
    fresh_sandbox, tmp_path, monkeypatch
):
    fresh_sandbox.reset(seed=7, assets=300)
    for name, value in fresh_sandbox.env.items():
        monkeypatch.setenv(name, value)
    file_wh = Warehouse(tmp_path / "file.duckdb", tmp_path / "file-lake")
    local = Warehouse(f"ducklake:{tmp_path / 'catalog.ducklake'}", tmp_path / "local-lake")
    assert local.backend.exclusive and local.path == tmp_path / "catalog.ducklake"
    for wh in (file_wh, local):
        run("uplynk", wh)
    problems = differences(dump(file_wh, MOVING), dump(local, MOVING))
    assert problems == [], "\n".join(problems)
    assert list((tmp_path / "catalog.ducklake.files").rglob("*.parquet"))  # data beside it


def test_ducklake_data_lives_on_s3_and_credentials_stay_out_of_logs(world):
    keys = world.lake_b.data_keys()
    assert any(k.endswith(".parquet") for k in keys)
    assert world.lake_b.pg.password == PG_PASSWORD
    assert "checkpoint" in world.stderr  # the writers did log (INFO)
    assert PG_PASSWORD not in world.stderr and S3_SECRET not in world.stderr
    assert PG_PASSWORD not in repr(world.lake_a) and S3_SECRET not in repr(world.lake_a.backend)
