"""The VALT group in Dagster: materializes against the sandbox, reports counts and the
catalog, passes its checks; the archive job's dry run lists what it would fetch."""

from __future__ import annotations

import dagster as dg

from tests.valt_helpers import new_warehouse


def test_materializing_group_valt_reports_counts_and_passes_checks(
    fresh_sandbox, tmp_path, monkeypatch
):
    for name, value in fresh_sandbox.env.items():
        monkeypatch.setenv(name, value)
    wh = new_warehouse(tmp_path)
    from assets_defs.resources import WarehouseResource
    from assets_defs.valt import ValtResource, archive_expiring_recordings, asset_checks, valt_sync

    resources = {
        "valt": ValtResource.from_env(),
        "warehouse": WarehouseResource(warehouse_path=str(wh.path), lake_root=str(wh.lake_root)),
    }
    result = dg.materialize([valt_sync, *asset_checks], resources=resources)
    assert result.success
    meta = {
        m.asset_key.to_user_string(): m.metadata
        for m in (
            e.event_specific_data.materialization for e in result.get_asset_materialization_events()
        )
    }
    expected = [r for r in fresh_sandbox.expected_valt(sha256=False) if not r["deleted"]]
    assert meta["raw/valt_recordings"]["dagster/row_count"].value == len(expected) > 100
    assert meta["raw/valt_recordings"]["rows_inserted"].value == len(expected)
    checks = result.get_asset_check_evaluations()
    assert len(checks) == 3 and all(c.passed for c in checks)
    job = archive_expiring_recordings.execute_in_process(resources=resources)  # dry run
    assert job.success
    assert job.output_for_node("archive_expiring_recordings_op")["dry_run"] is True
