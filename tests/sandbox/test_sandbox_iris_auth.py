"""IRIS.TV's OAuth token and the two 401s every call can get (expired/revoked token vs a wrong
client token), as the personalization and refresh documents describe them."""

from __future__ import annotations

import time

import pytest

from .iris_client import DATA, Iris

NO_LONGER_VALID = {"errors": ["The access token is no longer valid"]}
BAD_CREDENTIALS = {"errors": ["IRIS API: Check your authentication credentials"]}


@pytest.fixture
def iris(fresh_sandbox):
    c = Iris(fresh_sandbox.env)
    yield c
    c.close()


@pytest.fixture
def some_id(fresh_sandbox):
    return next(fresh_sandbox.expected_iris(number=0))["iris_id"]


def test_a_token_needs_the_client_grant_none_and_scope_iris_tv(iris, fresh_sandbox):
    r = iris.token_response()
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"access_token", "scope"} and body["scope"] == "iris_tv"
    assert len(body["access_token"]) == 40 and int(body["access_token"], 16) >= 0
    assert fresh_sandbox.iris_tokens() == [body["access_token"]]
    r = iris.token_response(client_secret="not-the-secret")
    assert (r.status_code, r.json()) == (401, BAD_CREDENTIALS)
    assert "not-the-secret" not in r.text
    assert iris.token_response(client_id="someone").status_code == 401
    assert iris.token_response(grant_type="client_credentials").status_code == 400
    assert iris.token_response(scope="everything").status_code == 400
    assert len(fresh_sandbox.iris_tokens()) == 1


def test_the_docs_curl_multipart_form_gets_a_token(iris):
    env = iris.env
    files = {
        "grant_type": (None, "none"),
        "client_id": (None, env["IRIS_CLIENT_ID"]),
        "client_secret": (None, env["IRIS_CLIENT_SECRET"]),
        "scope": (None, "iris_tv"),
    }
    r = iris.http.post(iris.base + "/oauth/access_token", files=files)
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "iris_tv"


def test_a_wrong_or_missing_client_token_is_a_credentials_error_even_with_a_good_token(
    iris, some_id
):
    tok = iris.login()
    for q in ({"client_token": "WRONG"}, {}):
        r = iris.http.get(iris.base + DATA, params={"access_token": tok, "iris_id": some_id, **q})
        assert (r.status_code, r.json()) == (401, BAD_CREDENTIALS), q
    r = iris.http.get(
        iris.base + DATA,
        params={"client_token": iris.env["IRIS_CLIENT_TOKEN"], "iris_id": some_id},
    )
    assert (r.status_code, r.json()) == (401, BAD_CREDENTIALS)
    assert iris.asset(some_id).status_code == 200


def test_a_token_expires_on_the_real_clock(iris, fresh_sandbox, some_id):
    fresh_sandbox.iris_config(token_ttl_s=0.5)
    iris.login()
    assert iris.asset(some_id).status_code == 200
    time.sleep(0.7)
    r = iris.asset(some_id)
    assert (r.status_code, r.json()) == (401, NO_LONGER_VALID)
    w = iris.watch("EXT-0000000")
    assert (w.status_code, w.json()) == (401, NO_LONGER_VALID)  # JSON, not JSONP
    assert w.headers["content-type"].startswith("application/json")
    iris.login()
    assert iris.asset(some_id).status_code == 200


def test_revocation_now_and_after_n_requests(iris, fresh_sandbox, some_id):
    iris.login()
    assert fresh_sandbox.iris_revoke() == {"revoked": 1}
    r = iris.asset(some_id)
    assert (r.status_code, r.json()) == (401, NO_LONGER_VALID)
    iris.login()
    fresh_sandbox.iris_revoke(after_requests=3)
    statuses = [iris.asset(some_id).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 401, 401]
    assert fresh_sandbox.iris_stats()["tokens_revoked"] == 2
