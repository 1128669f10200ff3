"""Redactor, scrub and log redaction."""

from __future__ import annotations

import logging

import pytest

from connector.http import RedactingFilter, Redactor, install_log_redaction


@pytest.fixture
def r() -> Redactor:
    return Redactor()


@pytest.mark.parametrize(
    "name",
    [
        "access_token",
        "client_token",
        "client_secret",
        "token",
        "refresh_token",
        "sig",
        "api_key",
        "apikey",
        "password",
        "code",
        "ACCESS_TOKEN",
    ],
)
def test_redacts_sensitive_query_params(r, name):
    out = r.url(f"https://h/p?iris_id=42&{name}=v4lue-xyz&x=1")
    assert out == f"https://h/p?iris_id=42&{name}=***&x=1"


def test_leaves_ordinary_params_alone(r):
    url = "https://h/p?error_code=5&tokens_used=3&signature_kind=a&page=2"
    assert r.url(url) == url


def test_redacts_form_bodies_and_percent_encoded_nested_urls(r):
    assert r.redact("grant_type=none&client_secret=abc&scope=iris_tv") == (
        "grant_type=none&client_secret=***&scope=iris_tv"
    )
    nested = "next=https%3A%2F%2Fcdn%2Fv.mp4%3Faccess_token%3DZZZ%26a%3D1"
    assert "ZZZ" not in r.redact(nested)
    assert r.redact(nested).endswith("%26a%3D1")


def test_redacts_registered_literal_and_its_url_encoded_forms(r):
    secret = "k3y+with/slash="
    r.add(secret)
    text = f"a {secret} b k3y%2Bwith%2Fslash%3D c"
    assert r.redact(text) == "a *** b *** c"
    other = Redactor()  # the registry is process-wide
    assert secret not in other.redact(f"x{secret}x")


def test_ignores_empty_and_very_short_secrets(r):
    r.add("")
    r.add(None)
    r.add("ab")
    assert r.redact("abcab") == "abcab"


def test_redacts_jwts_bearer_and_authorization_headers(r):
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjE3MDAwMDAwMDB9.c2lnbmF0dXJlX2hlcmU"
    assert r.redact(f"url token is {jwt}!") == "url token is ***!"
    assert r.redact("Authorization: Bearer abcdefgh12345") == "Authorization: Bearer ***"
    assert r.redact("header authorization=Basic dXNlcjpwYXNz") == ("header authorization=Basic ***")
    assert r.redact("sent Bearer abcdefgh12345 along") == "sent Bearer *** along"


def test_redacts_json_key_values(r):
    body = '{"access_token": "abc.def", "scope": "iris_tv", \'password\': \'pw\'}'
    out = r.redact(body)
    assert "abc.def" not in out and "'pw'" not in out and '"scope": "iris_tv"' in out


def test_url_masks_userinfo_password(r):
    assert r.url("https://bob:hunter2@h:8080/x?a=1") == "https://bob:***@h:8080/x?a=1"


def test_scrub_masks_secret_keys_and_redacts_nested_strings(r):
    payload = {
        "id": "v1",
        "access_token": "t0k3n",
        "error": {"code": 401, "message": "Bad credentials."},
        "source_url": "https://cdn/x.mp4?token=abc123&e=1",
        "list": [{"clientSecret": "zzz"}, "sig=ff00"],
        "empty_token": None,
    }
    out = r.scrub(payload)
    assert out["id"] == "v1" and out["access_token"] == "***"
    assert out["error"] == {"code": 401, "message": "Bad credentials."}
    assert out["source_url"] == "https://cdn/x.mp4?token=***&e=1"
    assert out["list"] == [{"clientSecret": "***"}, "sig=***"]
    assert out["empty_token"] is None
    assert payload["access_token"] == "t0k3n"  # input untouched


def test_filter_rewrites_message_args_and_traceback():
    flt = RedactingFilter(Redactor())
    try:
        raise ValueError("boom https://h/?access_token=SECRETVAL")
    except ValueError:
        import sys

        rec = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "GET %s", ("https://h/?sig=SECRETSIG",), sys.exc_info()
        )
    assert flt.filter(rec)
    assert rec.getMessage() == "GET https://h/?sig=***"
    assert "SECRETVAL" not in rec.exc_text and "access_token=***" in rec.exc_text


def test_install_covers_child_logger_records_via_root_handlers(caplog):
    # caplog's handler sits on the root logger: install after it exists.
    install_log_redaction()
    install_log_redaction()  # idempotent
    assert sum(isinstance(f, RedactingFilter) for f in caplog.handler.filters) == 1
    with caplog.at_level(logging.INFO):
        logging.getLogger("some.library").info("calling %s", "https://h/?api_key=K3YK3Y")
    assert "K3YK3Y" not in caplog.text and "api_key=***" in caplog.text


def test_install_silences_httpx_info_request_lines():
    install_log_redaction()
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING
    assert any(isinstance(f, RedactingFilter) for f in logging.getLogger("httpx").filters)


def test_json_error_codes_are_kept(r):
    assert r.redact('{"error": {"code": "not_found", "message": "x"}}') == (
        '{"error": {"code": "not_found", "message": "x"}}'
    )
