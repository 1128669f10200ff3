"""Unit tests of connector.warehouse: upsert, state, migrations, lake, rejects, runs."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connector.warehouse import Reject, RunRecord, UpsertCounts, Warehouse
from connector.warehouse.migrations import MIGRATIONS_DIR

TEST_DDL = """
CREATE TABLE IF NOT EXISTS raw.items (
    id          VARCHAR NOT NULL,
    title       VARCHAR,
    n           BIGINT,
    updated_at  TIMESTAMPTZ,
    doc         JSON,
    untouched   VARCHAR
);
CREATE TABLE IF NOT EXISTS raw.events (
    ts      BIGINT NOT NULL,
    action  VARCHAR NOT NULL,
    item_id VARCHAR NOT NULL,
    note    VARCHAR
);
"""


def make_migrations(tmp: Path) -> Path:
    d = tmp / "migrations"
    d.mkdir(exist_ok=True)
    shutil.copy(MIGRATIONS_DIR / "0001_core.sql", d / "0001_core.sql")
    (d / "0002_test.sql").write_text(TEST_DDL)
    return d


@pytest.fixture
def wh(tmp_path: Path) -> Warehouse:
    return Warehouse(
        tmp_path / "wh.duckdb",
        tmp_path / "lake",
        lock_timeout_s=30,
        migrations_dir=make_migrations(tmp_path),
    )


TS = pa.timestamp("ms", tz="UTC")


def items(ids, titles, ns=None, docs=None) -> pa.Table:
    ns = ns if ns is not None else [1] * len(ids)
    cols = {
        "id": pa.array(ids, pa.string()),
        "title": pa.array(titles, pa.string()),
        "n": pa.array(ns, pa.int64()),
        "updated_at": pa.array([1_700_000_000_000 + i for i in range(len(ids))], TS),
    }
    if docs is not None:
        cols["doc"] = pa.array(docs, pa.string())
    return pa.table(cols)


def rows(wh: Warehouse, sql: str, params=None):
    with wh.read() as con:
        return con.execute(sql, params or []).fetchall()


def test_upsert_counts_inserted_updated_unchanged(wh: Warehouse):
    with wh.write() as tx:
        c = tx.upsert("raw.items", items(["a", "b", "c"], ["A", "B", "C"]), ["id"])
    assert c == UpsertCounts(inserted=3, updated=0, unchanged=0)
    with wh.write() as tx:
        c = tx.upsert("raw.items", items(["a", "b", "c", "d"], ["A", "B2", "C", "D"]), ["id"])
    assert c == UpsertCounts(inserted=1, updated=1, unchanged=2)
    assert rows(wh, "SELECT id, title FROM raw.items ORDER BY id") == [
        ("a", "A"),
        ("b", "B2"),
        ("c", "C"),
        ("d", "D"),
    ]
    # compare= restricts change detection: n differs but only title is compared.
    with wh.write() as tx:
        c = tx.upsert("raw.items", items(["a"], ["A"], ns=[99]), ["id"], compare=["title"])
    assert c == UpsertCounts(inserted=0, updated=0, unchanged=1)
    assert rows(wh, "SELECT n FROM raw.items WHERE id = 'a'") == [(1,)]


def test_upsert_writes_only_batch_columns_and_types(wh: Warehouse):
    with wh.write() as tx:
        tx.execute("INSERT INTO raw.items (id, untouched) VALUES ('a', 'keep')")
        c = tx.upsert("raw.items", items(["a"], ["A"], docs=['{"x": [1, 2]}']), ["id"])
    assert c == UpsertCounts(0, 1, 0)
    with wh.read() as con:
        row = con.execute(
            "SELECT untouched, typeof(updated_at), updated_at, doc->>'$.x[1]' FROM raw.items"
        ).fetchone()
    assert row[0] == "keep"
    assert row[1] == "TIMESTAMP WITH TIME ZONE"
    assert row[2] == datetime.fromtimestamp(1_700_000_000, UTC)
    assert row[3] == "2"
    with pytest.raises(ValueError, match="not in raw.items"), wh.write() as tx:
        tx.upsert("raw.items", pa.table({"id": ["a"], "nope": [1]}), ["id"])
    with pytest.raises(ValueError, match="nulls"), wh.write() as tx:
        tx.upsert("raw.items", pa.table({"id": pa.array([None], pa.string())}), ["id"])


def test_upsert_keeps_last_duplicate_in_batch(wh: Warehouse):
    batch = items(["a", "b", "a", "c", "a"], ["A1", "B", "A2", "C", "A3"], ns=[1, 2, 3, 4, 5])
    with wh.write() as tx:
        c = tx.upsert("raw.items", batch, ["id"])
        n = tx.insert_new(
            "raw.events",
            pa.table(
                {
                    "ts": [1, 1, 2],
                    "action": ["u", "u", "u"],
                    "item_id": ["a", "a", "a"],
                    "note": ["first", "last", "other"],
                }
            ),
            ["ts", "action", "item_id"],
        )
    assert c == UpsertCounts(inserted=3, updated=0, unchanged=0)
    assert n == 2
    assert rows(wh, "SELECT id, title, n FROM raw.items ORDER BY id") == [
        ("a", "A3", 5),
        ("b", "B", 2),
        ("c", "C", 4),
    ]
    assert rows(wh, "SELECT note FROM raw.events ORDER BY ts") == [("last",), ("other",)]


def test_insert_new_never_touches_existing_rows(wh: Warehouse):
    ev = pa.table({"ts": [1, 2], "action": ["d", "u"], "item_id": ["x", "y"], "note": ["a", "b"]})
    with wh.write() as tx:
        assert tx.insert_new("raw.events", ev, ["ts", "action", "item_id"]) == 2
    ev2 = pa.table({"ts": [2, 3], "action": ["u", "u"], "item_id": ["y", "y"], "note": ["Z", "c"]})
    with wh.write() as tx:
        assert tx.insert_new("raw.events", ev2, ["ts", "action", "item_id"]) == 1
        assert tx.insert_new("raw.events", ev2.slice(0, 0), ["ts", "action", "item_id"]) == 0
    assert rows(wh, "SELECT ts, note FROM raw.events ORDER BY ts") == [(1, "a"), (2, "b"), (3, "c")]


def test_state_rolls_back_with_rows(wh: Warehouse):
    with wh.write() as tx:
        tx.upsert("raw.items", items(["a"], ["A"]), ["id"])
        tx.set_state("s", {"cursor": 1})
    with pytest.raises(RuntimeError, match="boom"), wh.write() as tx:
        tx.upsert("raw.items", items(["a", "b"], ["A2", "B"]), ["id"])
        tx.set_state("s", {"cursor": 2})
        assert tx.get_state("s") == {"cursor": 2}
        raise RuntimeError("boom")
    assert rows(wh, "SELECT id, title FROM raw.items ORDER BY id") == [("a", "A")]
    with wh.write() as tx:
        assert tx.get_state("s") == {"cursor": 1}
        assert tx.get_state("other") is None
        tx.set_state("s", {"cursor": 3, "nested": {"ids": [1, 2]}})
    with wh.write() as tx:
        assert tx.get_state("s") == {"cursor": 3, "nested": {"ids": [1, 2]}}
    assert rows(wh, "SELECT count(*) FROM meta.sync_state") == [(1,)]


def test_migrations_are_idempotent(wh: Warehouse, tmp_path: Path):
    applied = wh.migrate()
    assert [(m.version, m.name) for m in applied] == [(1, "core"), (2, "test")]
    assert wh.migrate() == []
    again = Warehouse(wh.path, wh.lake_root, migrations_dir=wh.migrations_dir)
    assert again.migrate() == []
    (wh.migrations_dir / "0003_more.sql").write_text(
        "ALTER TABLE raw.items ADD COLUMN extra VARCHAR;"
    )
    assert [m.version for m in again.migrate()] == [3]
    got = rows(wh, "SELECT version, name FROM meta.schema_migrations ORDER BY version")
    assert got == [(1, "core"), (2, "test"), (3, "more")]
    schemas = {r[0] for r in rows(wh, "SELECT schema_name FROM duckdb_schemas()")}
    assert {"raw", "core", "marts", "meta"} <= schemas
    # A failing migration leaves nothing behind and is not recorded.
    (wh.migrations_dir / "0004_bad.sql").write_text(
        "CREATE TABLE raw.half (x INTEGER); SELECT * FROM no_such_table;"
    )
    with pytest.raises(Exception, match="no_such_table"):
        again.migrate()
    assert rows(wh, "SELECT max(version) FROM meta.schema_migrations") == [(3,)]
    assert rows(wh, "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'half'") == [(0,)]


def test_default_migrations_apply_on_first_use(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("CONNECTOR_WAREHOUSE", str(tmp_path / "x" / "w.duckdb"))
    monkeypatch.setenv("CONNECTOR_LAKE", str(tmp_path / "lake"))
    wh = Warehouse.from_env()
    assert wh.path == tmp_path / "x" / "w.duckdb"
    with wh.read() as con:
        tables = {
            r[0]
            for r in con.execute(
                "SELECT schema_name || '.' || table_name FROM duckdb_tables()"
            ).fetchall()
        }
        assert con.execute("SELECT current_setting('TimeZone')").fetchone()[0] == "UTC"
    assert {
        "meta.sync_state",
        "meta.rejects",
        "meta.lake_files",
        "meta.runs",
        "meta.schema_migrations",
    } <= tables


def test_land_writes_immutable_files_with_ledger(wh: Warehouse):
    b = items(["a", "b"], ["A", "B"])
    with wh.write() as tx:
        p1 = tx.land("uplynk_assets", b, "run1")
        p2 = tx.land("uplynk_assets", b, "run1")
        assert tx.land("uplynk_assets", b.slice(0, 0), "run1") is None
    assert p1 != p2 and p1.exists() and p2.exists()
    assert p1.parent.name.startswith("date=") and p1.parent.parent.name == "uplynk_assets"
    assert p1.name == "run1-00001.parquet" and p2.name == "run1-00002.parquet"
    assert pq.read_table(p1).equals(b)
    ledger = rows(wh, 'SELECT path, stream, run_id, "rows", bytes FROM meta.lake_files ORDER BY 1')
    assert [r[0] for r in ledger] == [p.relative_to(wh.lake_root).as_posix() for p in (p1, p2)]
    assert all(r[3] == 2 and r[4] == p1.stat().st_size for r in ledger)
    # An exception in the transaction removes the files it landed.
    with pytest.raises(RuntimeError), wh.write() as tx:
        p3 = tx.land("uplynk_assets", b, "run1")
        assert p3.exists()
        raise RuntimeError("x")
    assert not p3.exists()
    assert wh.recover_lake("uplynk_assets") == []
    with pytest.raises(ValueError), wh.write() as tx:
        tx.land("../evil", b, "run1")


def _land_then_die(path: str, lake: str, migrations: str) -> None:
    wh = Warehouse(path, lake, migrations_dir=migrations)
    with wh.write() as tx:
        tx.upsert("raw.items", items(["z"], ["Z"]), ["id"])
        tx.land("uplynk_assets", items(["z"], ["Z"]), "crashed")
        tx.set_state("uplynk_assets", {"cursor": 999})
        os._exit(17)  # the process dies: no commit, no rollback, no cleanup


def test_crash_between_land_and_commit_leaves_orphan_that_recover_removes(wh: Warehouse):
    with wh.write() as tx:
        kept = tx.land("uplynk_assets", items(["a"], ["A"]), "good")
        tx.set_state("uplynk_assets", {"cursor": 1})
    proc = mp.get_context("spawn").Process(
        target=_land_then_die, args=(str(wh.path), str(wh.lake_root), str(wh.migrations_dir))
    )
    proc.start()
    proc.join(60)
    assert proc.exitcode == 17
    orphans = sorted((wh.lake_root / "uplynk_assets").rglob("crashed-*.parquet"))
    assert len(orphans) == 1
    stray_tmp = kept.with_name("leftover-00001.parquet.tmp")
    stray_tmp.write_bytes(b"partial")
    other_stream = wh.lake_root / "ibm_videos" / "date=2026-01-01" / "x-00001.parquet"
    other_stream.parent.mkdir(parents=True)
    other_stream.write_bytes(b"not this stream's business")

    with wh.write() as tx:
        assert tx.get_state("uplynk_assets") == {"cursor": 1}  # cursor never advanced
        assert tx.execute("SELECT count(*) FROM raw.items").fetchone()[0] == 0
    removed = wh.recover_lake("uplynk_assets")
    assert sorted(removed) == sorted([orphans[0], stray_tmp])
    assert kept.exists() and other_stream.exists()
    assert wh.recover_lake("uplynk_assets") == []


def test_reject_payload_has_no_secrets(wh: Warehouse):
    payload = {
        "id": "v1",
        "title": "Design signals",
        "access_token": "tok-123",
        "client_secret": "cs-456",
        "headers": {"Authorization": "Bearer abc.def", "X-Api-Key": "k-789"},
        "nested": [{"password": "pw-000", "signal": 5}],
        "sig": "s-111",
        "source_url": "https://cdn.example/v.mp4?exp=5&token=t-222&sig=s-333",
        "note": "got Bearer zzz-444 back",
        "jwt_in_text": "x eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.c2lnbmF0dXJl y",
        "owner": "team-555",
    }
    with wh.write() as tx:
        n = tx.reject(
            "valt_recordings",
            [Reject("v1", "bad duration", payload), Reject(None, "no id", {"x": 1})],
            "run1",
            redact=lambda s: s.replace("team-555", "[OWNER]"),
        )
    assert n == 2
    stored = rows(wh, "SELECT CAST(payload AS VARCHAR) FROM meta.rejects WHERE record_id = 'v1'")
    text = stored[0][0]
    for secret in (
        "tok-123",
        "cs-456",
        "abc.def",
        "k-789",
        "pw-000",
        "s-111",
        "t-222",
        "s-333",
        "zzz-444",
        "eyJhbGciOiJIUzI1NiJ9",
        "team-555",
    ):
        assert secret not in text, secret
    doc = json.loads(text)
    assert doc["title"] == "Design signals" and doc["nested"][0]["signal"] == 5
    assert doc["source_url"].startswith("https://cdn.example/v.mp4?exp=5&token=")
    assert doc["owner"] == "[OWNER]"
    # Re-rejecting the same (stream, record_id, reason) updates instead of duplicating.
    with wh.write() as tx:
        tx.reject("valt_recordings", [Reject("v1", "bad duration", {"v": 2})], "run2")
        tx.reject("valt_recordings", [Reject(None, "no id", {"x": 1})], "run2")
    got = rows(wh, "SELECT record_id, run_id FROM meta.rejects ORDER BY record_id NULLS LAST")
    assert got == [("v1", "run2"), (None, "run2")]


def test_record_run_upserts_by_run_id(wh: Warehouse):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with wh.write() as tx:
        tx.record_run(RunRecord("r1", "uplynk_assets", start, cursor_before={"end": 1}))
    with wh.write() as tx:
        tx.record_run(
            RunRecord(
                "r1",
                "uplynk_assets",
                start,
                finished_at=datetime(2026, 1, 1, 0, 5, tzinfo=UTC),
                status="success",
                rows_inserted=10,
                cursor_before={"end": 1},
                cursor_after={"end": 2},
                requests=3,
            )
        )
        with pytest.raises(ValueError, match="timezone-aware"):
            tx.record_run(RunRecord("r2", "s", datetime(2026, 1, 1)))
    got = rows(wh, "SELECT run_id, status, rows_inserted, cursor_after->>'$.end' FROM meta.runs")
    assert got == [("r1", "success", 10, "2")]


def test_warehouse_pickles(wh: Warehouse):
    import pickle

    copy = pickle.loads(pickle.dumps(wh))
    assert copy.path == wh.path and copy.lake_root == wh.lake_root
    with copy.write() as tx:
        tx.set_state("s", {"a": 1})
    with wh.write() as tx:
        assert tx.get_state("s") == {"a": 1}
