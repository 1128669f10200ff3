"""The warehouse's SQL must also run on a DuckLake catalog (DESIGN: the planned way out of one
DuckDB file). Runs only where ``duckdb-extension-ducklake`` for the installed duckdb version
is available (the PyPI package exists up to 1.5.5); skipped otherwise."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from connector.warehouse import (
    Reject,
    RunRecord,
    UpsertCounts,
    lake,
    migrations,
    rejects,
    runs,
    state,
    upsert,
)


def _ducklake_extension() -> Path:
    pkg = pytest.importorskip("duckdb_extension_ducklake")
    ext = (
        Path(pkg.__file__).parent
        / "extensions"
        / f"v{duckdb.__version__}"
        / "ducklake.duckdb_extension"
    )
    if not ext.exists():
        pytest.skip(f"no DuckLake extension for duckdb {duckdb.__version__}")
    return ext


def test_warehouse_sql_runs_on_ducklake(tmp_path: Path):
    ext = _ducklake_extension()
    con = duckdb.connect()
    con.execute(f"LOAD '{ext}'")
    con.execute(
        f"ATTACH 'ducklake:{tmp_path / 'catalog.ducklake'}' AS lk (DATA_PATH '{tmp_path / 'data'}')"
    )
    con.execute("USE lk")
    con.execute("SET TimeZone = 'UTC'")
    mig = tmp_path / "migrations"
    mig.mkdir()
    shutil.copy(migrations.MIGRATIONS_DIR / "0001_core.sql", mig)
    (mig / "0002_t.sql").write_text(
        "CREATE TABLE IF NOT EXISTS raw.items (id VARCHAR NOT NULL, title VARCHAR, "
        "ts TIMESTAMPTZ, doc JSON, tags VARCHAR[]);"
    )
    assert [m.version for m in migrations.apply_pending(con, mig)] == [1, 2]
    assert migrations.apply_pending(con, mig) == []

    def batch(ids, titles):
        n = len(ids)
        return pa.table(
            {
                "id": ids,
                "title": titles,
                "ts": pa.array([0] * n, pa.timestamp("ms", tz="UTC")),
                "doc": ['{"a": 1}'] * n,
                "tags": [["x"]] * n,
            }
        )

    con.execute("BEGIN")
    assert upsert.upsert(con, "raw.items", batch(["a", "b", "a"], ["A", "B", "A2"]), ["id"]) == (
        UpsertCounts(2, 0, 0)
    )
    state.set_state(con, "s", {"c": 1})
    con.execute("COMMIT")
    con.execute("BEGIN")
    counts = upsert.upsert(con, "raw.items", batch(["a", "b", "c"], ["A2", "B2", "C"]), ["id"])
    assert counts == UpsertCounts(1, 1, 1)
    assert upsert.insert_new(con, "raw.items", batch(["c", "d"], ["x", "y"]), ["id"]) == 1
    state.set_state(con, "s", {"c": 2})
    rejects.reject(con, "s", [Reject("1", "r", {"token": "t"}), Reject(None, "r", {})], "run")
    rejects.reject(con, "s", [Reject("1", "r", {"token": "t"}), Reject(None, "r", {})], "run")
    runs.record_run(con, RunRecord("r", "s", datetime.now(UTC)))
    runs.record_run(con, RunRecord("r", "s", datetime.now(UTC), status="success"))
    landed = lake.land(con, tmp_path / "lake", "s", batch(["a"], ["A"]), "run1")
    con.execute("COMMIT")
    assert state.get_state(con, "s") == {"c": 2}
    assert con.execute("SELECT id, title FROM raw.items ORDER BY id").fetchall() == [
        ("a", "A2"),
        ("b", "B2"),
        ("c", "C"),
        ("d", "y"),
    ]
    assert con.execute("SELECT count(*) FROM meta.rejects").fetchone()[0] == 2
    assert con.execute("SELECT status FROM meta.runs").fetchall() == [("success",)]
    assert landed is not None and lake.recover(con, tmp_path / "lake", "s") == []
