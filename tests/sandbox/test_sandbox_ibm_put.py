"""A successful PUT expiration answers 200 OK with an empty body, as the vendor's doc says."""

from __future__ import annotations

import pytest

from .ibm_client import Ibm


@pytest.fixture
def ibm(fresh_sandbox):
    c = Ibm(fresh_sandbox.env)
    yield c
    c.close()


def expiring_video(sandbox) -> str:
    return next(
        r["id"]
        for r in sandbox.expected_ibm()
        if r["listed"] and not r["check_error"] and r["rule"] == "at_given_time"
    )


def test_a_successful_put_answers_200_with_an_empty_body_and_applies_the_rule(ibm, fresh_sandbox):
    vid = expiring_video(fresh_sandbox)
    r = ibm.expiration(vid, "PUT", {"rule": "never"})
    assert r.status_code == 200 and r.content == b""
    assert ibm.expiration(vid).json() == {"expiration": {"rule": "never"}}
    assert fresh_sandbox.ibm_stats()["puts"] == 1


def test_put_body_json_answers_a_json_success_body(ibm, fresh_sandbox):
    assert fresh_sandbox.ibm_config()["put_body"] == "empty"
    fresh_sandbox.ibm_config(put_body="json")
    r = ibm.expiration(expiring_video(fresh_sandbox), "PUT", {"rule": "never"})
    assert r.status_code == 200 and r.json() == {"success": True}


def test_a_refused_put_still_answers_its_json_error(ibm, fresh_sandbox):
    r = ibm.expiration("1", "PUT", {"rule": "never"})
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = ibm.expiration(expiring_video(fresh_sandbox), "PUT", {"rule": "later"})
    assert r.status_code == 400 and r.json()["error"] == "bad_request"


def test_an_unknown_put_body_knob_is_refused(fresh_sandbox):
    with pytest.raises(RuntimeError, match="put_body"):
        fresh_sandbox.ibm_config(put_body="xml")
