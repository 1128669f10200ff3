"""VALT login and access tokens: the vendor's bodies, expiry on the real clock, revocation."""

from __future__ import annotations

import re
import time

import pytest

from sandbox.server import SandboxProcess

from .valt_client import BAD_CREDENTIALS, NO_KEY, Valt


@pytest.fixture
def valt(fresh_sandbox):
    c = Valt(fresh_sandbox.env)
    yield c
    c.close()


def first_record_id(valt: Valt) -> object:
    return valt.page(limit=1)[0]["id"]


def test_login_answers_a_32_hex_token_under_data(valt, fresh_sandbox):
    r = valt.login_response()
    assert r.status_code == 200
    token = r.json()["data"]["access_token"]
    assert re.fullmatch(r"[0-9a-f]{32}", token)
    assert fresh_sandbox.valt_tokens()["tokens"] == [token]


@pytest.mark.parametrize(
    "body",
    [
        {"username": "sandbox-valt-user", "password": "wrong"},
        {"username": "someone", "password": "sandbox-valt-password-0123456789abcdef"},
        {"username": "sandbox-valt-user"},
        {},
    ],
)
def test_wrong_or_missing_credentials_get_401_with_the_vendors_data_message(valt, body):
    r = valt.login_response(body)
    assert (r.status_code, r.json()) == (401, {"data": "Invalid username or password"})


@pytest.mark.parametrize("content", [b"", b"{not json", b"username=a&password=b", b"[1, 2]"])
def test_a_login_body_that_is_not_a_json_object_is_500(valt, content):
    r = valt.login_response(content=content)
    assert r.status_code == 500
    assert r.json()["error"]["code"] == 500 and r.json()["error"]["message"]


def test_every_call_without_a_token_is_401_no_api_key_provided(valt):
    rid = first_record_id(valt)
    for r in (valt.records({}, token=""), valt.details(rid, token=""), valt.download(rid, "x", "")):
        assert (r.status_code, r.json()) == (401, NO_KEY)


def test_an_unknown_token_is_401_bad_credentials(valt):
    rid = first_record_id(valt)
    fake = "0" * 32
    for r in (valt.records({}, fake), valt.details(rid, fake), valt.download(rid, "x", fake)):
        assert (r.status_code, r.json()) == (401, BAD_CREDENTIALS)


def test_a_token_expires_after_token_ttl_s_on_the_real_clock(valt, fresh_sandbox):
    fresh_sandbox.valt_config(token_ttl_s=1)
    token = valt.login()
    assert valt.records({}, token).status_code == 200
    time.sleep(1.5)
    r = valt.records({}, token)
    assert (r.status_code, r.json()) == (401, BAD_CREDENTIALS)
    assert valt.records({}, valt.login()).status_code == 200  # a new login works again


def test_revoked_tokens_are_bad_credentials_and_a_new_login_works(valt, fresh_sandbox):
    old = [valt.login(), valt.login()]
    assert fresh_sandbox.valt_revoke() == {"revoked": 2}
    for token in old:
        r = valt.records({}, token)
        assert (r.status_code, r.json()) == (401, BAD_CREDENTIALS)
    assert valt.records({}, valt.login()).status_code == 200
    stats = fresh_sandbox.valt_stats()
    assert (stats["logins"], stats["tokens_issued"], stats["tokens_revoked"]) == (3, 3, 2)
    assert stats["responses_401"] == 2


def test_revocation_after_n_requests_lets_exactly_n_through(valt, fresh_sandbox):
    token = valt.login()
    fresh_sandbox.valt_revoke(after_requests=3)
    statuses = [valt.records({}, token).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 401, 401]


def test_the_sandbox_prints_the_three_valt_lines_and_accepts_those_credentials(sandbox):
    env = sandbox.env
    assert env["VALT_BASE_URL"] == sandbox.base_url + "/valt"
    assert env["VALT_USERNAME"] == "sandbox-valt-user"
    assert env["VALT_PASSWORD"] == "sandbox-valt-password-0123456789abcdef"
    c = Valt(env)
    try:
        assert c.login_response().status_code == 200
    finally:
        c.close()


def test_credentials_from_the_environment_replace_the_defaults():
    env = {"VALT_USERNAME": "ops@example.org", "VALT_PASSWORD": "p4ss-from-env"}
    with SandboxProcess(seed=1, assets=100, env=env) as sb:
        assert (sb.env["VALT_USERNAME"], sb.env["VALT_PASSWORD"]) == tuple(env.values())
        c = Valt(sb.env)
        try:
            assert c.login_response().status_code == 200
            default = {"username": "sandbox-valt-user"}
            default["password"] = "sandbox-valt-password-0123456789abcdef"
            assert c.login_response(default).status_code == 401
        finally:
            c.close()
