"""IBM OAuth2: bad credentials, tokens that expire mid-run, a token revoked mid-run."""

from __future__ import annotations

import dataclasses

import pytest

from connector.config import IbmSettings
from connector.ibm import IbmAuthError, IbmClient, RefreshPolicy
from connector.runtime import run_sync
from tests.ibm_helpers import (
    FAST_RETRY,
    expected_listed,
    ibm_settings,
    new_warehouse,
    rows,
    run_ibm,
)


def test_wrong_client_secret_is_a_clear_error_without_the_secret(fresh_sandbox):
    bad = dataclasses.replace(ibm_settings(fresh_sandbox), client_secret="not-the-secret-at-all")

    async def go():
        async with IbmClient(bad, retry=FAST_RETRY) as client:
            async for _ in client.channel_pages(bad.channel_ids[0]):
                pass

    with pytest.raises(IbmAuthError) as info:
        run_sync(go())
    assert "invalid_client" in str(info.value)
    assert "not-the-secret-at-all" not in str(info.value)


def test_missing_variables_are_all_named():
    from connector.config import MissingConfigError

    with pytest.raises(MissingConfigError) as info:
        IbmSettings.from_env({"IBM_VIDEO_CLIENT_ID": "x"})
    assert "IBM_VIDEO_CLIENT_SECRET" in str(info.value) and "IBM_VIDEO_CHANNEL_IDS" in str(
        info.value
    )


def test_tokens_expiring_mid_run_are_renewed(fresh_sandbox, tmp_path):
    fresh_sandbox.reset(seed=7, assets=1000)
    # 2 s tokens, and an expiration endpoint slow enough (150/s) for the run to outlive several
    fresh_sandbox.ibm_config(
        token_ttl_s=2, rate_limits={"expiration": {"limit": 150, "window_s": 1}}
    )
    wh = new_warehouse(tmp_path)
    report = run_ibm(fresh_sandbox, wh)
    listed = expected_listed(fresh_sandbox)
    assert report.expirations_checked == len(listed)
    assert report.tokens_fetched >= 2
    assert fresh_sandbox.ibm_stats()["tokens_issued"] == report.tokens_fetched
    assert rows(wh, "SELECT count(*) FROM raw.ibm_expirations")[0][0] == len(listed)


def test_a_token_revoked_mid_run_is_replaced_once_and_the_run_completes(fresh_sandbox, tmp_path):
    fresh_sandbox.reset(seed=7, assets=1000)
    wh = new_warehouse(tmp_path)
    fresh_sandbox.ibm_revoke(after_requests=150)  # in the middle of the expiration checks
    report = run_ibm(fresh_sandbox, wh)
    stats = fresh_sandbox.ibm_stats()
    assert stats["tokens_revoked"] >= 1
    assert report.reauths >= 1
    assert report.tokens_fetched == 2  # single-flight: one renewal for all requests in flight
    assert report.expirations_checked == len(expected_listed(fresh_sandbox))
    # and once more with the listing hit: the revocation lands inside a channel listing
    fresh_sandbox.ibm_revoke(after_requests=3)
    report = run_ibm(
        fresh_sandbox, wh, policy=RefreshPolicy(staleness_days=1, run_interval_hours=24)
    )
    assert report.reauths >= 1 and report.channels == 4
