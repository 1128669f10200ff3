"""End-to-end secret checks, each driving a secret onto one path that would leak it without
redaction, against the sandbox over loopback. Each check raises :class:`SecretLeak` when a
secret shows, and a plain AssertionError when the secret never reached the path (a check
whose path carries no secret proves nothing); that precondition looks for the parameter or
the record, never for the mask, so it holds with redaction switched off too.

tests/test_secrets.py runs every check as a test, and runs it again inside
``redaction_disabled()`` expecting a SecretLeak: the proof that each check can fail.

The secrets come from the sandbox's vendors behaving badly on purpose (``sandbox.defects``):
a listing whose ``paging.next`` carries an ``access_token`` in its query string, an error
body that quotes the signature and the API key, a record holding keys in a field of the
wrong type. ``stranger()`` secrets were never given to the connector: only the scrubber's
rules (parameter and key names), not its registry of known values, can catch them.
"""

from __future__ import annotations

import logging
import secrets
import traceback
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq

from connector.http import RetryPolicy
from connector.ibm import SyncOptions as IbmOptions
from connector.ibm import sync_ibm
from connector.uplynk import SyncOptions as UplynkOptions
from connector.uplynk import sync_uplynk
from connector.warehouse import Warehouse
from tests.ibm_helpers import ibm_settings
from tests.uplynk_helpers import new_warehouse, settings_for

SHORT_RETRY = RetryPolicy(max_attempts=3, max_elapsed_s=10.0, initial_wait_s=0.01, max_wait_s=0.05)


class SecretLeak(AssertionError):
    """Secrets were found where they must never be; ``places`` names where."""

    def __init__(self, leaks: list[tuple[str, str, str]]) -> None:
        self.places = {place for _, place, _ in leaks}
        super().__init__(
            "; ".join(f"{name} leaked into {place}: ...{context}" for name, place, context in leaks)
        )


def stranger(label: str) -> str:
    """A secret the connector was never told about."""
    return f"{label}{secrets.token_hex(12)}"


def assert_no_secret(secrets_by_name: dict[str, str], texts: dict[str, str]) -> None:
    """Raise SecretLeak listing every (secret, place) found, with the text before it."""
    leaks = []
    for place, text in texts.items():
        for name, secret in secrets_by_name.items():
            if secret in text:
                at = text.index(secret)
                leaks.append((name, place, text[max(0, at - 80) : at]))
    if leaks:
        raise SecretLeak(leaks)


def leaks_without_redaction(*places: str):
    """Mark a check with the places its secret reaches when nothing redacts it (the
    meta-test in tests/test_secrets.py holds it to that)."""

    def mark(check):
        check.leaks_without_redaction = frozenset(places)
        return check

    return mark


# -- where secrets could end up ------------------------------------------------------------------


def all_text_in_duckdb(warehouse: Warehouse) -> str:
    chunks = []
    with warehouse.read() as con:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE'"
        ).fetchall()
        for schema, name in tables:
            for row in con.execute(f'SELECT * FROM "{schema}"."{name}"').fetchall():
                chunks.append(repr(row))
    return "\n".join(chunks)


def all_text_in_lake(warehouse: Warehouse) -> str:
    return "\n".join(
        repr(pq.read_table(path).to_pylist()) for path in warehouse.lake_root.rglob("*.parquet")
    )


def run_errors(warehouse: Warehouse, stream: str) -> str:
    with warehouse.read() as con:
        rows = con.execute(
            "SELECT coalesce(error, '') FROM meta.runs WHERE stream = ?", [stream]
        ).fetchall()
    return "\n".join(r[0] for r in rows)


def exception_text(exc: BaseException) -> str:
    """str, repr and the full traceback with every chained cause and context."""
    return f"{exc}\n{exc!r}\n" + "".join(traceback.format_exception(exc))


def debug_logging(caplog, monkeypatch) -> None:
    """Every logger at DEBUG, httpx's "HTTP Request: <URL>" lines included: the connector
    raises httpx to WARNING when a client starts, so that logger is pinned at DEBUG."""
    caplog.set_level(logging.DEBUG)
    for name in ("connector", "connector.http", "httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    monkeypatch.setattr(logging.getLogger("httpx"), "setLevel", lambda level: None)


def dagster_env(sandbox, monkeypatch, warehouse: Warehouse) -> None:
    for name, value in sandbox.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CONNECTOR_WAREHOUSE", str(warehouse.path))
    monkeypatch.setenv("CONNECTOR_LAKE", str(warehouse.lake_root))


def dagster_run_text(instance: dg.DagsterInstance, run_id: str) -> str:
    """Everything Dagster recorded for a run: events, metadata, log lines, failures."""
    records = instance.get_records_for_run(run_id).records
    return "\n".join(repr(r.event_log_entry) for r in records)


# -- the vendors' misbehaviour -------------------------------------------------------------------


def first_channel(sandbox) -> str:
    return sandbox.env["IBM_VIDEO_CHANNEL_IDS"].split(",")[0]


def ibm_next_with_token(sandbox, token: str, *, then_fail: bool) -> None:
    """The first listing page of the first channel points ``paging.next`` at page 2 with
    ``access_token`` in the query (as some APIs echo it); with ``then_fail`` that page then
    answers 500 for ever, so the run fails quoting the URL."""
    channel = first_channel(sandbox)
    path = f"/ibm/api/channels/{channel}/videos.json"
    url = f"{sandbox.env['IBM_VIDEO_API_URL']}/channels/{channel}/videos.json"
    rules = [
        {
            "kind": "set_value",
            "vendor": "ibm",
            "path": path,
            "times": 1,
            "params": {
                "path": "paging.next",
                "value": f"{url}?page=2&pagesize=50&access_token={token}",
            },
        }
    ]
    if then_fail:
        rules.append({"kind": "status", "vendor": "ibm", "path": path, "params": {"status": 500}})
    sandbox.defects(rules)


def applied(sandbox) -> int:
    return sum(rule["applied"] for rule in sandbox.defects_status())


# -- the checks -----------------------------------------------------------------------------------


@leaks_without_redaction("logs")
def check_token_in_a_query_string_stays_out_of_debug_logs(
    sandbox, tmp_path: Path, caplog, monkeypatch
) -> None:
    """connector.http and httpx log every request URL at DEBUG; a token in the query."""
    sandbox.reset(seed=7, assets=600)
    token = stranger("tok")
    ibm_next_with_token(sandbox, token, then_fail=False)
    debug_logging(caplog, monkeypatch)
    wh = new_warehouse(tmp_path, "query-token")
    sync_ibm(ibm_settings(sandbox), wh, IbmOptions(now_ms=sandbox.now_ms()), retry=SHORT_RETRY)
    assert applied(sandbox) == 1, "the listing never carried the token"
    loggers = {r.name for r in caplog.records if "access_token=" in r.getMessage()}
    assert {"connector.http", "httpx"} <= loggers, f"only {loggers} logged the token's URL"
    assert_no_secret({"access token": token}, {"logs": caplog.text})


@leaks_without_redaction("the exception", "meta.runs.error", "logs")
def check_a_failed_run_quoting_a_url_with_a_token(
    sandbox, tmp_path: Path, caplog, monkeypatch
) -> None:
    """The request that carries the token fails for good: the exception, its traceback, the
    retry warnings and meta.runs.error all quote its URL."""
    sandbox.reset(seed=7, assets=600)
    token = stranger("tok")
    ibm_next_with_token(sandbox, token, then_fail=True)
    caplog.set_level(logging.DEBUG)
    wh = new_warehouse(tmp_path, "failed-url")
    error: BaseException | None = None
    try:
        sync_ibm(ibm_settings(sandbox), wh, IbmOptions(now_ms=sandbox.now_ms()), retry=SHORT_RETRY)
    except Exception as exc:  # the run must fail; what it says is checked below
        error = exc
    assert error is not None, "the run did not fail"
    texts = {
        "the exception": exception_text(error),
        "meta.runs.error": run_errors(wh, "ibm"),
        "logs": caplog.text,
    }
    assert "access_token=" in texts["the exception"] + texts["meta.runs.error"], (
        "the failure does not quote the URL that held the token"
    )
    assert_no_secret({"access token": token}, texts)


@leaks_without_redaction("DuckDB")
def check_a_rejected_record_holding_keys(sandbox, tmp_path: Path, caplog, monkeypatch) -> None:
    """A record rejected (a field of the wrong type) whose bad field holds an API key, a
    stream key and a URL with a token: meta.rejects keeps its reason and payload, scrubbed."""
    sandbox.reset(seed=7, assets=500)
    api_key = sandbox.env["UPLYNK_API_KEY"]
    stream_key, url_token = stranger("sk"), stranger("tok")
    bad = {
        "api_key": api_key,
        "stream_key": stream_key,
        "preview": f"https://cdn.example.com/p.m3u8?exp=1&token={url_token}",
    }
    sandbox.defects(
        kind="set_value",
        vendor="uplynk",
        path="/uplynk/api2/asset/list",
        times=1,
        params={"path": "assets.3.duration", "value": bad},
    )
    caplog.set_level(logging.DEBUG)
    wh = new_warehouse(tmp_path, "reject")
    sync_uplynk(settings_for(sandbox), wh, UplynkOptions(), retry=SHORT_RETRY)
    assert applied(sandbox) == 1
    with wh.read() as con:
        rejects = con.execute(
            "SELECT reason || ' ' || payload::VARCHAR FROM meta.rejects WHERE stream = 'uplynk_assets'"
        ).fetchall()
    assert len(rejects) == 1, "the record was not rejected"
    assert_no_secret(
        {"API key": api_key, "stream key": stream_key, "URL token": url_token},
        {"DuckDB": all_text_in_duckdb(wh), "Parquet": all_text_in_lake(wh), "logs": caplog.text},
    )


@leaks_without_redaction("Dagster events", "meta.runs.error")
def check_a_dagster_run_failing_on_an_error_that_quotes_the_key(
    sandbox, tmp_path: Path, caplog, monkeypatch
) -> None:
    """Uplynk answers every changes call with an error whose message quotes the request's
    signature and the API key: the Dagster run fails; its events, the logs and meta.runs
    must not hold them."""
    sandbox.reset(seed=7, assets=300)
    api_key = sandbox.env["UPLYNK_API_KEY"]
    sig = stranger("")
    message = f"signature mismatch for request ?msg=eJx&sig={sig} (api_key={api_key})"
    sandbox.defects(
        kind="error_envelope_200",
        vendor="uplynk",
        path="/uplynk/api2/asset/changes",
        params={"body": {"error": 1, "msg": message}},
    )
    caplog.set_level(logging.DEBUG)
    wh = new_warehouse(tmp_path, "dagster-uplynk")
    dagster_env(sandbox, monkeypatch, wh)
    from assets_defs.resources import WarehouseResource
    from assets_defs.uplynk import UplynkResource, uplynk_sync

    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [uplynk_sync],
        instance=instance,
        resources={"uplynk": UplynkResource.from_env(), "warehouse": WarehouseResource.from_env()},
        raise_on_error=False,
    )
    assert not result.success
    texts = {
        "Dagster events": dagster_run_text(instance, result.run_id),
        "meta.runs.error": run_errors(wh, "uplynk"),
        "logs": caplog.text,
    }
    assert "sig=" in texts["Dagster events"], "the failure does not quote the vendor's error"
    assert_no_secret({"signature": sig, "API key": api_key}, texts)


@leaks_without_redaction("Dagster events", "logs", "DuckDB")
def check_an_ibm_dagster_run_failing_on_a_url_with_a_token(
    sandbox, tmp_path: Path, caplog, monkeypatch
) -> None:
    """The IBM asset fails on a listing URL that carries a token, with tokens expiring and
    revoked mid-run and 503s: neither that token, nor the client secret, nor any access
    token the sandbox issued is in Dagster's events, the logs, DuckDB or Parquet."""
    sandbox.reset(seed=7, assets=600)
    sandbox.ibm_config(token_ttl_s=1, rate_limits={"expiration": {"limit": 150, "window_s": 1}})
    sandbox.faults(scope="ibm", p_503=0.05, p_500=0.02)
    sandbox.ibm_revoke(after_requests=60)
    token = stranger("tok")
    ibm_next_with_token(sandbox, token, then_fail=True)
    debug_logging(caplog, monkeypatch)
    wh = new_warehouse(tmp_path, "dagster-ibm")
    dagster_env(sandbox, monkeypatch, wh)
    from assets_defs.ibm import IbmResource, ibm_sync
    from assets_defs.resources import WarehouseResource

    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [ibm_sync],
        instance=instance,
        resources={"ibm": IbmResource.from_env(), "warehouse": WarehouseResource.from_env()},
        raise_on_error=False,
    )
    sandbox.clear_faults()
    assert not result.success
    texts = {
        "Dagster events": dagster_run_text(instance, result.run_id),
        "logs": caplog.text,
        "DuckDB": all_text_in_duckdb(wh),
        "Parquet": all_text_in_lake(wh),
    }
    assert "access_token=" in texts["Dagster events"], "the failure does not quote the URL"
    issued = sandbox.ibm_tokens()
    assert len(issued) >= 2, "no token was renewed mid-run"
    assert "retr" in caplog.text.lower(), "the faults did not make the core retry"
    found = {"URL token": token, "client secret": sandbox.env["IBM_VIDEO_CLIENT_SECRET"]}
    found.update({f"access token {i}": t for i, t in enumerate(issued)})
    assert_no_secret(found, texts)


@leaks_without_redaction("logs", "the exception", "meta.runs.error", "DuckDB")
def check_iris_tokens_in_query_strings_failures_and_rejects(
    sandbox, tmp_path: Path, caplog, monkeypatch
) -> None:
    """IRIS puts access_token and client_token in every query string and its source URLs
    carry a CDN token: every request URL logged at DEBUG; a data API record rejected (a
    field of the wrong type holding an API key and a tokenized URL, the record's own
    source_url tokenized too); then a run failing because every Watch answers 500 with an
    error that quotes a token, which its exception and meta.runs.error quote."""
    from connector.iris import IrisSyncError, sync_iris
    from connector.iris import SyncOptions as IrisOptions
    from tests.iris_helpers import iris_settings

    sandbox.reset(seed=7, assets=80)
    wh = new_warehouse(tmp_path, "iris")
    sync_uplynk(settings_for(sandbox), wh, UplynkOptions(), retry=SHORT_RETRY)
    api_key, url_token, quoted = stranger("key"), stranger("tok"), stranger("tok")
    sandbox.defects(
        kind="set_value",
        vendor="iris",
        path="/iris/v2/context/data_partner/metadata/video_assets",
        times=1,
        params={
            "path": "source_keywords",
            "value": {
                "api_key": api_key,
                "preview": f"https://cdn.example.com/p?token={url_token}",
            },
        },
    )
    debug_logging(caplog, monkeypatch)
    options = IrisOptions(recommendations=3, probe_timeout_s=1.0)
    sync_iris(iris_settings(sandbox), wh, options, retry=SHORT_RETRY)
    assert applied(sandbox) == 1, "no data API record carried the keys"
    with wh.read() as con:
        rejected = con.execute(
            "SELECT count(*) FROM meta.rejects WHERE stream = 'iris_assets'"
        ).fetchone()[0]
    assert rejected == 1, "the record was not rejected"
    sandbox.clear_defects()
    sandbox.defects(
        kind="status",
        vendor="iris",
        path="/iris/watch",
        params={"status": 500, "body": {"errors": [f"upstream: ?access_token={quoted}"]}},
    )
    error: BaseException | None = None
    try:
        sync_iris(iris_settings(sandbox), wh, IrisOptions(full_refresh=True), retry=SHORT_RETRY)
    except IrisSyncError as exc:
        error = exc
    sandbox.clear_defects()
    assert error is not None, "the run did not fail"
    texts = {
        "logs": caplog.text,
        "the exception": exception_text(error),
        "meta.runs.error": run_errors(wh, "iris"),
        "DuckDB": all_text_in_duckdb(wh),
        "Parquet": all_text_in_lake(wh),
    }
    assert "client_token=" in texts["logs"] and "token=" in texts["logs"]
    assert "upstream: ?access_token=" in texts["the exception"] + texts["meta.runs.error"], (
        "the failure does not quote the vendor's error"
    )
    found = {"API key": api_key, "URL token": url_token, "quoted token": quoted}
    found["client token"] = sandbox.env["IRIS_CLIENT_TOKEN"]
    found["client secret"] = sandbox.env["IRIS_CLIENT_SECRET"]
    found.update({f"access token {i}": t for i, t in enumerate(sandbox.iris_tokens())})
    for row in sandbox.expected_media():
        if row["system"] == "iris" and "token=" in row["url"]:
            found[f"CDN token of {row['id']}"] = row["url"].split("token=")[1].split("&")[0]
    assert_no_secret(found, texts)


@leaks_without_redaction("logs", "the exception", "meta.runs.error", "DuckDB")
def check_valt_tokens_in_query_strings_failures_and_rejects(
    sandbox, tmp_path: Path, caplog, monkeypatch
) -> None:
    """VALT puts its access token in every query string and its download URLs carry a JWT:
    every request URL logged at DEBUG (sync and archive); a details record rejected (a
    field of the wrong type holding an API key and a tokenized URL); then a sync failing
    because the list answers an error that quotes a URL with a token, its exception and
    meta.runs.error quoting it."""
    from connector.valt import ArchiveOptions, archive_valt, sync_valt
    from connector.valt import SyncOptions as ValtOptions
    from tests.valt_helpers import valt_settings

    sandbox.reset(seed=7, assets=300)
    sandbox.valt_config(video_bytes=3000)
    wh = new_warehouse(tmp_path, "valt")
    api_key, url_token, quoted = stranger("key"), stranger("tok"), stranger("tok")
    sandbox.defects(
        kind="set_value",
        vendor="valt",
        path="/valt/api/v3/records/*",
        method="GET",
        times=1,
        params={
            "path": "data.duration",
            "value": {
                "api_key": api_key,
                "preview": f"https://cdn.example.com/p.mp4?access_token={url_token}",
            },
        },
    )
    debug_logging(caplog, monkeypatch)
    now = sandbox.now_ms()
    sync_valt(valt_settings(sandbox), wh, ValtOptions(now_ms=now), retry=SHORT_RETRY)
    assert applied(sandbox) == 1, "no details record carried the keys"
    with wh.read() as con:
        rejected = con.execute(
            "SELECT count(*) FROM meta.rejects WHERE stream = 'valt_recordings'"
        ).fetchone()[0]
    assert rejected == 1, "the record was not rejected"
    archive = ArchiveOptions(dry_run=False, within_days=7, now_ms=now)
    assert archive_valt(valt_settings(sandbox), wh, archive, retry=SHORT_RETRY).urls_minted
    sandbox.clear_defects()
    sandbox.defects(
        kind="error_envelope_200",
        vendor="valt",
        path="/valt/api/v3/records",
        method="POST",
        params={"body": {"error": {"code": 500, "message": f"at /records?access_token={quoted}"}}},
    )
    error: BaseException | None = None
    try:
        sync_valt(valt_settings(sandbox), wh, ValtOptions(full_refresh=True), retry=SHORT_RETRY)
    except Exception as exc:  # the run must fail; what it says is checked below
        error = exc
    sandbox.clear_defects()
    assert error is not None, "the run did not fail"
    texts = {
        "logs": caplog.text,
        "the exception": exception_text(error),
        "meta.runs.error": run_errors(wh, "valt"),
        "DuckDB": all_text_in_duckdb(wh),
        "Parquet": all_text_in_lake(wh),
    }
    assert "access_token=" in texts["logs"], "no request URL with its token was logged"
    assert "access_token=" in texts["the exception"], "the failure does not quote the URL"
    tokens = sandbox.valt_tokens()
    assert tokens["tokens"] and tokens["url_tokens"], "no token was issued or minted"
    found = {"API key": api_key, "URL token": url_token, "quoted token": quoted}
    found["password"] = sandbox.env["VALT_PASSWORD"]
    found.update({f"access token {i}": t for i, t in enumerate(tokens["tokens"])})
    found.update({f"download JWT {i}": t for i, t in enumerate(tokens["url_tokens"])})
    assert_no_secret(found, texts)


CHECKS = (
    check_token_in_a_query_string_stays_out_of_debug_logs,
    check_a_failed_run_quoting_a_url_with_a_token,
    check_a_rejected_record_holding_keys,
    check_a_dagster_run_failing_on_an_error_that_quotes_the_key,
    check_an_ibm_dagster_run_failing_on_a_url_with_a_token,
    check_iris_tokens_in_query_strings_failures_and_rejects,
    check_valt_tokens_in_query_strings_failures_and_rejects,
)
