"""IBM's token endpoint refuses what the vendor refuses, with the vendor's OAuth2 errors."""

from __future__ import annotations

import pytest

from .ibm_client import Ibm


@pytest.fixture
def ibm(fresh_sandbox):
    c = Ibm(fresh_sandbox.env)
    yield c
    c.close()


def error(r) -> tuple[int, str]:
    body = r.json()
    assert body.get("error_description"), body
    return r.status_code, body["error"]


def test_a_token_request_without_grant_type_or_client_id_is_invalid_request(ibm):
    cid = ibm.client_id
    assert error(ibm.token_response(data={"client_id": cid})) == (400, "invalid_request")
    assert error(ibm.token_response(data={"grant_type": "client_credentials"})) == (
        400,
        "invalid_request",
    )
    blank = {"grant_type": "", "client_id": cid}
    assert error(ibm.token_response(data=blank)) == (400, "invalid_request")


def test_a_grant_type_the_vendor_does_not_know_is_501_unsupported_grant_type(ibm):
    for grant in ("urn:ietf:params:oauth:grant-type:jwt-bearer", "implicit", "CLIENT_CREDENTIALS"):
        r = ibm.token_response(data={"grant_type": grant, "client_id": ibm.client_id})
        assert error(r) == (501, "unsupported_grant_type"), grant


def test_grants_this_client_never_received_are_invalid_grant(ibm):
    for grant in ("password", "refresh_token", "authorization_code"):
        r = ibm.token_response(data={"grant_type": grant, "client_id": ibm.client_id})
        assert error(r) == (400, "invalid_grant"), grant


def test_a_form_client_id_other_than_the_authenticated_client_is_invalid_client(ibm):
    r = ibm.token_response(data={"grant_type": "client_credentials", "client_id": "someone-else"})
    assert error(r) == (400, "invalid_client")
    r = ibm.token_response(auth=(ibm.client_id, "not-the-secret"))
    assert error(r) == (400, "invalid_client")
    assert "not-the-secret" not in r.text


def test_a_complete_request_gets_a_bearer_token(ibm, fresh_sandbox):
    r = ibm.token_response()
    assert r.status_code == 200 and r.json()["token_type"] == "bearer"
    assert fresh_sandbox.ibm_tokens() == [r.json()["access_token"]]
