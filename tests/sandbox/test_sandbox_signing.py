"""Uplynk request signing, over real loopback HTTP."""

from __future__ import annotations

import time

import pytest

from .uplynk_client import Uplynk


@pytest.fixture
def up(fresh_sandbox):
    c = Uplynk(fresh_sandbox.env)
    yield c
    c.close()


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_signed_requests_are_accepted_as_query_or_form(up, method):
    d = up.call("/api2/asset/list", method=method, limit=3)
    assert d["error"] == 0 and len(d["assets"]) == 3 and d["shared_assets"] == []


def test_printed_credentials_are_the_documented_defaults(fresh_sandbox):
    from sandbox.credentials import DEFAULT_UPLYNK_API_KEY, DEFAULT_UPLYNK_OWNER

    assert fresh_sandbox.env["UPLYNK_OWNER"] == DEFAULT_UPLYNK_OWNER
    assert fresh_sandbox.env["UPLYNK_API_KEY"] == DEFAULT_UPLYNK_API_KEY
    assert fresh_sandbox.env["UPLYNK_BASE_URL"].endswith("/uplynk")


@pytest.mark.parametrize(
    "kw",
    [
        {"key": "not-the-key"},
        {"owner": "0" * 32},
        {"timestamp": int(time.time()) - 301},
        {"timestamp": int(time.time()) + 400},
    ],
    ids=["bad-sig", "wrong-owner", "stale", "future"],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_bad_signatures_owners_and_timestamps_are_rejected_with_http_200(up, kw, method):
    r = up.raw("/api2/asset/list", {"limit": 1}, method=method, **kw)
    assert r.status_code == 200
    d = r.json()
    assert d["error"] == 1 and isinstance(d["msg"], str) and "assets" not in d


def test_missing_or_undecodable_msg_is_an_error(up):
    for params in ({}, {"msg": "x"}, {"msg": "!!notbase64", "sig": "00"}):
        r = up.http.get("/api2/asset/list", params=params)
        assert r.status_code == 200 and r.json()["error"] == 1
    # a correctly signed msg that is not zlib/json
    import hashlib
    import hmac

    msg = "bm90IHpsaWI="
    sig = hmac.new(up.key.encode(), msg.encode(), hashlib.sha256).hexdigest()
    r = up.http.get("/api2/asset/list", params={"msg": msg, "sig": sig})
    assert r.json()["error"] == 1


def test_every_response_has_an_integer_error(up):
    for path, params in [
        ("/api2/asset/list", {}),
        ("/api2/asset/changes", {"start": 0}),
        ("/api2/asset/changes", {}),
        ("/api2/asset/get", {"id": "nope"}),
        ("/api2/asset/update", {"id": "nope"}),
    ]:
        d = up.call(path, **params)
        assert isinstance(d["error"], int)
