"""No secret reaches logs, Dagster events, meta.runs, meta.rejects, DuckDB or Parquet, on
every path that would carry one without redaction (tests/secret_checks.py), and each of
those checks fails when redaction is switched off (the last test)."""

from __future__ import annotations

import pytest

from tests import secret_checks
from tests.redaction import redaction_disabled
from tests.secret_checks import SecretLeak


def test_token_in_a_query_string_stays_out_of_debug_logs(
    fresh_sandbox, tmp_path, caplog, monkeypatch
):
    secret_checks.check_token_in_a_query_string_stays_out_of_debug_logs(
        fresh_sandbox, tmp_path, caplog, monkeypatch
    )


def test_a_failed_run_quoting_a_url_with_a_token_leaks_nothing(
    fresh_sandbox, tmp_path, caplog, monkeypatch
):
    secret_checks.check_a_failed_run_quoting_a_url_with_a_token(
        fresh_sandbox, tmp_path, caplog, monkeypatch
    )


def test_a_rejected_record_holding_keys_is_stored_scrubbed(
    fresh_sandbox, tmp_path, caplog, monkeypatch
):
    secret_checks.check_a_rejected_record_holding_keys(fresh_sandbox, tmp_path, caplog, monkeypatch)


def test_a_dagster_run_failing_on_an_error_that_quotes_the_key_leaks_nothing(
    fresh_sandbox, tmp_path, caplog, monkeypatch
):
    secret_checks.check_a_dagster_run_failing_on_an_error_that_quotes_the_key(
        fresh_sandbox, tmp_path, caplog, monkeypatch
    )


# check_an_ibm_dagster_run_failing_on_a_url_with_a_token runs in tests/test_ibm_dagster.py


@pytest.mark.parametrize("check", secret_checks.CHECKS, ids=lambda c: c.__name__[6:])
def test_each_secret_check_fails_with_redaction_disabled(
    check, fresh_sandbox, tmp_path, caplog, monkeypatch
):
    """The checks above can fail: with every scrubber a no-op, each finds its secret in
    every place it names (``leaks_without_redaction``)."""
    with redaction_disabled() as patched, pytest.raises(SecretLeak) as leak:
        check(fresh_sandbox, tmp_path, caplog, monkeypatch)
    assert patched
    assert leak.value.places >= check.leaks_without_redaction, str(leak.value)
