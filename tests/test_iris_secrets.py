"""No IRIS secret (client secret, client token, access tokens, CDN URL tokens) reaches the
logs, the tables, the lake or any other file. The check in tests/secret_checks.py drives
them onto the paths that would leak them (tests/test_secrets.py also runs it with redaction
switched off and sees it fail); the second test is a whole sync with tokens expiring, every
URL probed and refreshed, at DEBUG."""

from __future__ import annotations

import orjson

from tests import secret_checks
from tests.iris_helpers import run_iris, with_uplynk
from tests.secret_checks import all_text_in_duckdb, all_text_in_lake, assert_no_secret


def test_iris_tokens_in_query_strings_failures_and_rejects_leak_nothing(
    fresh_sandbox, tmp_path, caplog, monkeypatch
):
    secret_checks.check_iris_tokens_in_query_strings_failures_and_rejects(
        fresh_sandbox, tmp_path, caplog, monkeypatch
    )


def cdn_tokens(sandbox) -> dict[str, str]:
    out = {}
    for row in sandbox.expected_media():
        if "token=" in row["url"]:
            out[f"CDN token of {row['system']} {row['id']}"] = (
                row["url"].split("token=")[1].split("&")[0]
            )
    return out


def test_no_iris_token_in_logs_tables_or_files(fresh_sandbox, tmp_path, caplog, monkeypatch):
    fresh_sandbox.reset(seed=7, assets=120)
    warehouse = with_uplynk(fresh_sandbox, tmp_path)
    before = cdn_tokens(fresh_sandbox)  # the first URLs, before any refresh
    fresh_sandbox.iris_config(token_ttl_s=1.0, slow_s=0.2)
    # tokens expire after 1 s, and one is revoked after 30 requests in any case: a run
    # faster than the TTL still renews one
    fresh_sandbox.iris_revoke(after_requests=30)
    secret_checks.debug_logging(caplog, monkeypatch)
    report = run_iris(fresh_sandbox, warehouse, recommendations=5, concurrency=2)
    assert report.token_renewals >= 1, "no token was renewed mid-run"
    assert report.refresh_outcomes.get("refreshed", 0) >= 1, "no URL was refreshed"
    found = {**before, **cdn_tokens(fresh_sandbox)}
    found.update({f"access token {i}": t for i, t in enumerate(fresh_sandbox.iris_tokens())})
    found["client token"] = fresh_sandbox.env["IRIS_CLIENT_TOKEN"]
    found["client secret"] = fresh_sandbox.env["IRIS_CLIENT_SECRET"]
    assert len(found) > 50
    logs = caplog.text
    assert "access_token=" in logs and "client_token=" in logs and "token=" in logs, (
        "the request URLs were not logged: the test proves nothing"
    )
    files = {
        str(path): path.read_bytes().decode("latin-1")
        for path in tmp_path.rglob("*")
        if path.is_file()
    }
    assert any(name.endswith(".parquet") for name in files)
    texts = {
        "logs": logs,
        "DuckDB": all_text_in_duckdb(warehouse),
        "Parquet": all_text_in_lake(warehouse),
        "the report": orjson.dumps(report.as_dict()).decode(),
        **files,
    }
    assert_no_secret(found, texts)
