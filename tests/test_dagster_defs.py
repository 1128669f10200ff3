"""The Dagster layer: definitions load, config errors are clear, assets report metadata."""

from __future__ import annotations

import subprocess
import sys

import dagster as dg
import pytest

from connector.config import MissingConfigError, UplynkSettings
from tests.uplynk_helpers import ROOT, new_warehouse


def test_definitions_validate():
    proc = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


def test_missing_variables_are_all_named_in_one_error():
    with pytest.raises(MissingConfigError) as info:
        UplynkSettings.from_env({})
    assert "UPLYNK_OWNER" in str(info.value) and "UPLYNK_API_KEY" in str(info.value)


def test_materializing_group_uplynk_reports_counts_and_cursor(fresh_sandbox, tmp_path, monkeypatch):
    for name, value in fresh_sandbox.env.items():
        monkeypatch.setenv(name, value)
    wh = new_warehouse(tmp_path)
    from assets_defs.resources import WarehouseResource
    from assets_defs.uplynk import UplynkResource, asset_checks, uplynk_sync

    resources = {
        "uplynk": UplynkResource.from_env(),
        "warehouse": WarehouseResource(warehouse_path=str(wh.path), lake_root=str(wh.lake_root)),
    }
    result = dg.materialize([uplynk_sync, *asset_checks], resources=resources)
    assert result.success
    meta = {
        m.asset_key.to_user_string(): m.metadata
        for m in (
            e.event_specific_data.materialization for e in result.get_asset_materialization_events()
        )
    }
    assert meta["raw/uplynk_assets"]["rows_inserted"].value > 1000
    assert meta["raw/uplynk_assets"]["reconciled"].value == "first_run"
    assert meta["raw/uplynk_assets"]["cursor_after_ms"].value > 0
    # the catalog: row count as the table holds it, columns with the data dictionary's words
    with wh.read() as con:
        stored = con.execute("SELECT count(*) FROM raw.uplynk_assets").fetchone()[0]
    assert meta["raw/uplynk_assets"]["dagster/row_count"].value == stored
    cols = {c.name: c for c in meta["raw/uplynk_assets"]["dagster/column_schema"].schema.columns}
    assert cols["asset_id"].description == "Uplynk GUID, 32 lowercase hex"
    assert "deleted_at" in cols and cols["deleted_at"].type == "TIMESTAMPTZ"
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks)


def test_missing_credentials_fail_the_run_naming_every_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("UPLYNK_OWNER", raising=False)
    monkeypatch.delenv("UPLYNK_API_KEY", raising=False)
    wh = new_warehouse(tmp_path)
    from assets_defs.resources import WarehouseResource
    from assets_defs.uplynk import UplynkResource, uplynk_sync

    result = dg.materialize(
        [uplynk_sync],
        resources={
            "uplynk": UplynkResource.from_env(),
            "warehouse": WarehouseResource(
                warehouse_path=str(wh.path), lake_root=str(wh.lake_root)
            ),
        },
        raise_on_error=False,
    )
    assert not result.success
    error = result.get_step_failure_events()[0].event_specific_data.error
    text = error.to_string()
    assert "MissingConfigError" in text
    assert "UPLYNK_OWNER" in text and "UPLYNK_API_KEY" in text
