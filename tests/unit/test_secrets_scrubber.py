"""connector.secrets: the one scrubber's rules, its one mask, and the JSON of rejects."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from connector import secrets
from connector.http import Redactor
from connector.warehouse.rejects import payload_json

M = secrets.MASK


def test_one_mask_everywhere():
    assert M == "***"
    assert Redactor().redact("?token=abcdef") == f"?token={M}"
    assert json.loads(payload_json({"api_key": "k"})) == {"api_key": M}


@pytest.mark.parametrize(
    "name",
    [
        "access_token",
        "X-Api-Key",
        "clientSecret",
        "sig",
        "auth",
        "Authorization",
        "passwd",
        "session_id",
        "refreshTokens",
        "stream_key",
        "jwt",
    ],
)
def test_secret_key_names(name):
    assert secrets.is_secret_key(name)


@pytest.mark.parametrize("name", ["signal", "design", "code", "error_code", "title", "keywords"])
def test_ordinary_key_names(name):
    assert not secrets.is_secret_key(name)


@pytest.mark.parametrize(
    "name",
    [
        "access_token",
        "code",
        "hdnts",
        "X-Amz-Signature",
        "X-Amz-Security-Token",
        "X-Amz-Credential",
        "client_token",
        "api_key",
        "pageToken",
        "Authorization",
    ],
)
def test_secret_param_names(name):
    assert secrets.is_secret_param(name)


@pytest.mark.parametrize(
    "name", ["tokens_used", "signature_kind", "error_code", "page", "Key-Pair-Id", "exp"]
)
def test_ordinary_param_names(name):
    assert not secrets.is_secret_param(name)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "https://b.s3/x?X-Amz-Credential=AK/1&X-Amz-Signature=f00d&x=1",
            f"https://b.s3/x?X-Amz-Credential={M}&X-Amz-Signature={M}&x=1",
        ),
        ("see ftp://bob:hunter2@h/x", f"see ftp://bob:{M}@h/x"),
        ('cut here {"access_token": "abc12', f'cut here {{"access_token": "{M}'),
        ('{"password": "a\\"b\\"c", "n": 1}', f'{{"password": "{M}", "n": 1}}'),
        ('{"token": 123456, "page": 2}', f'{{"token": {M}, "page": 2}}'),
        ('{"token": null}', '{"token": null}'),
        ("{'auth': {'token': 'zz9'}}", f"{{'auth': {{'token': '{M}'}}}}"),
        ("got Bearer zzz-444 back", f"got Bearer {M} back"),
        ("Basic auth failed", "Basic auth failed"),
    ],
)
def test_redact_text(text, expected):
    assert secrets.redact_text(text) == expected


def test_registered_secret_is_masked_in_stored_payloads_too():
    secrets.register_secret("Reg1stered-Value")
    assert json.loads(payload_json({"note": "key Reg1stered-Value here"})) == {
        "note": f"key {M} here"
    }


def test_scrub_keeps_shapes_and_empty_values():
    out = secrets.scrub(
        {"t": ("a", "?sig=1234"), "s": {"x"}, "b": b"token=abc", "token": "", "pwd": None}
    )
    assert out == {"t": ("a", f"?sig={M}"), "s": ["x"], "b": f"token={M}", "token": "", "pwd": None}


def test_payload_json_stores_what_json_cannot_hold():
    class Thing:
        def __str__(self) -> str:
            return "thing with ?token=abcdef"

    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    doc = json.loads(payload_json({"epoch": 10**30, "when": when, "obj": Thing(), 7: [2**70]}))
    assert doc == {
        "epoch": str(10**30),
        "when": "2026-01-02T03:04:05+00:00",
        "obj": f"thing with ?token={M}",
        "7": [str(2**70)],
    }
