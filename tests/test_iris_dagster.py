"""The IRIS group in Dagster: Uplynk seeds, then the IRIS sync and the media probe; counts,
the catalog, and the refresh-rules check."""

from __future__ import annotations

import dagster as dg

from tests.ibm_helpers import new_warehouse, rows


def test_materializing_group_iris_reports_counts_and_passes_checks(
    fresh_sandbox, tmp_path, monkeypatch
):
    fresh_sandbox.reset(seed=7, assets=300)
    for name, value in fresh_sandbox.env.items():
        monkeypatch.setenv(name, value)
    wh = new_warehouse(tmp_path)
    from assets_defs.iris import IrisResource, asset_checks, iris_sync, media_url_checks
    from assets_defs.resources import WarehouseResource
    from assets_defs.uplynk import UplynkResource, uplynk_sync

    resources = {
        "uplynk": UplynkResource.from_env(),
        "iris": IrisResource.from_env(),
        "warehouse": WarehouseResource(warehouse_path=str(wh.path), lake_root=str(wh.lake_root)),
    }
    result = dg.materialize(
        [uplynk_sync, iris_sync, media_url_checks, *asset_checks], resources=resources
    )
    assert result.success
    meta = {
        m.asset_key.to_user_string(): m.metadata
        for m in (
            e.event_specific_data.materialization for e in result.get_asset_materialization_events()
        )
    }
    for table in ("raw.iris_resolutions", "raw.iris_assets", "raw.media_url_checks"):
        count = rows(wh, f"SELECT count(*) FROM {table}")[0][0]
        assert count > 0 and meta[table.replace(".", "/")]["dagster/row_count"].value == count
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert all(c.passed for c in checks.values())
    recs_only = checks["recs_only_always_true"].metadata
    assert recs_only["recs_only_not_true"].value == 0
    assert recs_only["watch_next_requests"].value == fresh_sandbox.iris_stats()["requests"]["watch"]
    assert fresh_sandbox.iris_stats()["recs_only_violations"] == 0
