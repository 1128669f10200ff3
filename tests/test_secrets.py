"""No secret reaches logs, Dagster metadata, DuckDB or Parquet."""

from __future__ import annotations

import logging

import dagster as dg
import pyarrow.parquet as pq

from tests.uplynk_helpers import new_warehouse, run_uplynk


def all_text_in_duckdb(warehouse) -> str:
    chunks = []
    with warehouse.read() as con:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
        ).fetchall()
        for schema, name in tables:
            for row in con.execute(f'SELECT * FROM "{schema}"."{name}"').fetchall():
                chunks.append(repr(row))
    return "\n".join(chunks)


def all_text_in_lake(warehouse) -> str:
    return "\n".join(
        repr(pq.read_table(path).to_pylist()) for path in warehouse.lake_root.rglob("*.parquet")
    )


def test_no_secret_in_logs_metadata_duckdb_or_parquet(fresh_sandbox, tmp_path, caplog, monkeypatch):
    secret = fresh_sandbox.env["UPLYNK_API_KEY"]
    caplog.set_level(logging.DEBUG)
    fresh_sandbox.faults(p_500=0.1, p_429=0.1, retry_after_s=0.01, p_truncate=0.05)
    wh = new_warehouse(tmp_path)
    run_uplynk(fresh_sandbox, wh)
    fresh_sandbox.advance(seconds=600, updates=200, deletes=20)

    for name, value in fresh_sandbox.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CONNECTOR_WAREHOUSE", str(wh.path))
    monkeypatch.setenv("CONNECTOR_LAKE", str(wh.lake_root))
    from assets_defs.resources import WarehouseResource
    from assets_defs.uplynk import UplynkResource, uplynk_sync

    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [uplynk_sync],
        instance=instance,
        resources={"uplynk": UplynkResource.from_env(), "warehouse": WarehouseResource.from_env()},
    )
    assert result.success
    events = instance.get_records_for_run(result.run_id).records
    dagster_text = "\n".join(repr(r.event_log_entry) for r in events)

    assert secret not in caplog.text
    assert secret not in dagster_text
    assert secret not in all_text_in_duckdb(wh)
    assert secret not in all_text_in_lake(wh)
    assert "retr" in caplog.text.lower()  # the faults did make the core log retries
