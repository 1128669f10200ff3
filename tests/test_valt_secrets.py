"""VALT's tokens (the access token in every query string, the JWT in every download URL)
never reach logs, exceptions, meta.runs, DuckDB or Parquet (tests/secret_checks.py); the
same check run with redaction switched off finds them (tests/test_secrets.py, CHECKS)."""

from __future__ import annotations

from tests import secret_checks


def test_valt_tokens_stay_out_of_logs_failures_rejects_and_tables(
    fresh_sandbox, tmp_path, caplog, monkeypatch
):
    secret_checks.check_valt_tokens_in_query_strings_failures_and_rejects(
        fresh_sandbox, tmp_path, caplog, monkeypatch
    )
