"""The IBM Dagster layer: assets + checks + metadata, the protect job, no secret anywhere,
and Uplynk and IBM materialized at the same time by the multiprocess executor."""

from __future__ import annotations

import dagster as dg

from tests import secret_checks
from tests.ibm_helpers import new_warehouse, rows


def _env(sandbox, monkeypatch, wh) -> None:
    for name, value in sandbox.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CONNECTOR_WAREHOUSE", str(wh.path))
    monkeypatch.setenv("CONNECTOR_LAKE", str(wh.lake_root))


def _resources():
    from assets_defs.ibm import IbmResource
    from assets_defs.resources import WarehouseResource

    return {"ibm": IbmResource.from_env(), "warehouse": WarehouseResource.from_env()}


def _metadata(result) -> dict:
    return {
        m.asset_key.to_user_string(): m.metadata
        for m in (
            e.event_specific_data.materialization for e in result.get_asset_materialization_events()
        )
    }


def test_materializing_group_ibm_reports_counts_and_passes_checks(
    fresh_sandbox, tmp_path, monkeypatch
):
    fresh_sandbox.reset(seed=7, assets=800)
    wh = new_warehouse(tmp_path)
    _env(fresh_sandbox, monkeypatch, wh)
    from assets_defs.ibm import asset_checks, ibm_sync, protect_expiring_videos

    result = dg.materialize([ibm_sync, *asset_checks], resources=_resources())
    assert result.success
    meta = _metadata(result)
    listed = meta["raw/ibm_videos"]["videos_listed"].value
    assert listed > 300
    assert meta["raw/ibm_expirations"]["checked_new"].value == listed
    assert meta["raw/ibm_expirations"]["checked_rolling"].value == 0
    assert (
        "responses_429" in meta["raw/ibm_expirations"]
        and "requests_per_s" in meta["raw/ibm_expirations"]
    )
    checks = result.get_asset_check_evaluations()
    assert len(checks) == 3 and all(c.passed for c in checks)

    with wh.write() as tx:  # a user asks to keep three videos
        tx.execute(
            "INSERT INTO meta.ibm_protect_requests (video_id, requested_by, requested_at, note) "
            "SELECT video_id, 'test', now(), 'keep' FROM raw.ibm_videos ORDER BY video_id LIMIT 3"
        )
    job = protect_expiring_videos.execute_in_process(resources=_resources())  # dry run by default
    assert job.success
    out = job.output_for_node("protect_expiring_videos_op")
    assert out["dry_run"] is True
    assert rows(wh, "SELECT count(*) FROM meta.ibm_protect_actions WHERE NOT dry_run")[0][0] == 0
    # the run's metadata lists the videos it would act on, as the audit table has them
    (event,) = [e for e in job.all_events if e.event_type_value == "STEP_OUTPUT"]
    listed = event.event_specific_data.metadata["videos"].records
    audited = rows(wh, "SELECT video_id, result FROM meta.ibm_protect_actions")
    assert audited, "nothing selected: the check proves nothing"
    assert sorted((r.data["video_id"], r.data["result"]) for r in listed) == sorted(audited)


def test_no_ibm_secret_in_dagster_events_logs_duckdb_or_parquet(
    fresh_sandbox, tmp_path, caplog, monkeypatch
):
    """The IBM asset fails on a listing URL that carries a token, while tokens expire and
    are revoked and the API answers 503s (see tests/secret_checks.py; tests/test_secrets.py
    shows the check fails with redaction switched off)."""
    secret_checks.check_an_ibm_dagster_run_failing_on_a_url_with_a_token(
        fresh_sandbox, tmp_path, caplog, monkeypatch
    )


def _both_sources_job():
    """Uplynk and IBM in one job on the multiprocess executor (module-level: reconstructable)."""
    from assets_defs.ibm import IbmResource, ibm_sync
    from assets_defs.resources import WarehouseResource
    from assets_defs.uplynk import UplynkResource, uplynk_sync

    defs = dg.Definitions(
        assets=[uplynk_sync, ibm_sync],
        jobs=[dg.define_asset_job("both_sources", executor_def=dg.multiprocess_executor)],
        resources={
            "uplynk": UplynkResource.from_env(),
            "ibm": IbmResource.from_env(),
            "warehouse": WarehouseResource.from_env(),
        },
    )
    return defs.resolve_job_def("both_sources")


def test_uplynk_and_ibm_materialized_at_once_by_the_multiprocess_executor(
    fresh_sandbox, tmp_path, monkeypatch
):
    wh = new_warehouse(tmp_path)
    _env(fresh_sandbox, monkeypatch, wh)
    wh.migrate()
    # a paced IBM step (~4 s) outlasts the few seconds between the two processes' starts
    fresh_sandbox.ibm_config(rate_limits={"expiration": {"limit": 200, "window_s": 1}})
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        result = dg.execute_job(dg.reconstructable(_both_sources_job), instance=instance)
        assert result.success
        steps: dict[str, dict[str, float]] = {}
        for record in instance.all_logs(result.run_id):
            event = record.dagster_event
            if event is not None and event.event_type_value in ("STEP_START", "STEP_SUCCESS"):
                steps.setdefault(event.step_key, {})[event.event_type_value] = record.timestamp
    assert set(steps) == {"uplynk_sync", "ibm_sync"}
    # the two steps ran in overlapping windows (two processes, one DuckDB file)
    a, b = steps["uplynk_sync"], steps["ibm_sync"]
    assert a["STEP_START"] < b["STEP_SUCCESS"] and b["STEP_START"] < a["STEP_SUCCESS"]
    assert rows(wh, "SELECT count(*) FROM raw.uplynk_assets")[0][0] > 1000
    assert rows(wh, "SELECT count(*) FROM raw.ibm_expirations")[0][0] > 500
    assert sorted(r[0] for r in rows(wh, "SELECT stream FROM meta.runs WHERE status = 'ok'")) == [
        "ibm",
        "uplynk",
    ]
