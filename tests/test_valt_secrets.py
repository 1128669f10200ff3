"""VALT's tokens (the access token in every query string, the JWT in every download URL)
never reach logs, exceptions, meta.runs, DuckDB or Parquet (tests/secret_checks.py); the
same check run with redaction switched off finds them (tests/test_secrets.py, CHECKS)."""

from __future__ import annotations

from tests import secret_checks
from tests.valt_helpers import new_warehouse


def test_valt_tokens_stay_out_of_logs_failures_rejects_and_tables(
    fresh_sandbox, tmp_path, caplog, monkeypatch
):
    secret_checks.check_valt_tokens_in_query_strings_failures_and_rejects(
        fresh_sandbox, tmp_path, caplog, monkeypatch
    )


def test_no_valt_token_in_dagster_events_logs_or_files(
    fresh_sandbox, tmp_path, caplog, monkeypatch
):
    """The VALT group and a real archive run under Dagster, at DEBUG, tokens expiring
    mid-run: no access token, download JWT or the password in Dagster's events and metadata,
    the logs, or any file the runs left (DuckDB, Parquet, archived videos)."""
    import dagster as dg

    fresh_sandbox.reset(seed=7, assets=300)
    fresh_sandbox.valt_config(video_bytes=3000, token_ttl_s=0.5)
    wh = new_warehouse(tmp_path)
    secret_checks.dagster_env(fresh_sandbox, monkeypatch, wh)
    secret_checks.debug_logging(caplog, monkeypatch)
    from assets_defs.resources import WarehouseResource
    from assets_defs.valt import ValtResource, archive_expiring_recordings, asset_checks, valt_sync

    resources = {"valt": ValtResource.from_env(), "warehouse": WarehouseResource.from_env()}
    instance = dg.DagsterInstance.ephemeral()
    synced = dg.materialize([valt_sync, *asset_checks], instance=instance, resources=resources)
    assert synced.success
    config = {"ops": {"archive_expiring_recordings_op": {"config": {"dry_run": False}}}}
    archived = archive_expiring_recordings.execute_in_process(
        run_config=config, instance=instance, resources=resources
    )
    assert archived.success
    report = archived.output_for_node("archive_expiring_recordings_op")
    assert report["urls_minted"] > 0 and report["bytes_downloaded"] > 0, "nothing was archived"
    tokens = fresh_sandbox.valt_tokens()
    assert len(tokens["tokens"]) > 1, "no access token expired mid-run"
    logs = caplog.text
    assert "access_token=" in logs, "no request URL was logged: the test proves nothing"
    texts = {
        "Dagster events": secret_checks.dagster_run_text(instance, synced.run_id)
        + secret_checks.dagster_run_text(instance, archived.run_id),
        "logs": logs,
    }
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".parquet" for p in files) and any(p.suffix == ".mp4" for p in files)
    texts.update({str(p): p.read_bytes().decode("latin-1") for p in files})
    found = {"password": fresh_sandbox.env["VALT_PASSWORD"]}
    found.update({f"access token {i}": t for i, t in enumerate(tokens["tokens"])})
    found.update({f"download JWT {i}": t for i, t in enumerate(tokens["url_tokens"])})
    secret_checks.assert_no_secret(found, texts)
