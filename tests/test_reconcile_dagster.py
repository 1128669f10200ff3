"""Uplynk and IBM synced, then reconciled and the marts built, in one Dagster run: the xref's
blocking checks pass before the marts, every record is in the xref, every mart reports its
row count and a preview."""

from __future__ import annotations

import dagster as dg

from tests.ibm_helpers import new_warehouse, rows


def test_sources_then_xref_then_marts_in_one_run(fresh_sandbox, tmp_path, monkeypatch):
    fresh_sandbox.reset(seed=7, assets=800)
    for name, value in fresh_sandbox.env.items():
        monkeypatch.setenv(name, value)
    wh = new_warehouse(tmp_path)
    from assets_defs import marts, reconcile
    from assets_defs.ibm import IbmResource, ibm_sync
    from assets_defs.resources import WarehouseResource
    from assets_defs.uplynk import UplynkResource, uplynk_sync

    resources = {
        "uplynk": UplynkResource.from_env(),
        "ibm": IbmResource.from_env(),
        "warehouse": WarehouseResource(warehouse_path=str(wh.path), lake_root=str(wh.lake_root)),
    }
    result = dg.materialize(
        [uplynk_sync, ibm_sync, *reconcile.assets, *marts.assets]
        + [*reconcile.asset_checks, *marts.asset_checks],
        resources=resources,
    )
    assert result.success
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks == {
        "xref_one_canonical_id_per_record": True,
        "xref_conflicts_below_threshold": True,
        "rows_end_within_the_horizon": True,
        "one_row_per_system_and_asset_id": True,
        "one_row_per_canonical_id": True,
        "one_row_per_seed_platform_id_and_rank": True,
    }
    stored = rows(
        wh,
        "SELECT (SELECT count(*) FROM raw.uplynk_assets) + (SELECT count(*) FROM raw.ibm_videos)",
    )[0][0]
    assert rows(wh, "SELECT count(*) FROM core.asset_xref")[0][0] == stored
    meta = {
        m.asset_key.to_user_string(): m.metadata
        for m in (
            e.event_specific_data.materialization for e in result.get_asset_materialization_events()
        )
    }
    for mart in ("assets_expiring_soon", "catalog_coverage", "dead_source_urls"):
        table = f"marts.{mart}"
        count = rows(wh, f"SELECT count(*) FROM {table}")[0][0]
        assert meta[f"marts/{mart}"]["dagster/row_count"].value == count
        assert meta[f"marts/{mart}"]["preview"].value.startswith("| ")
    assert meta["marts/catalog_coverage"]["dagster/row_count"].value > 500
