"""Uplynk records -> rows: validation rules, the fast path, and request signing."""

from __future__ import annotations

import hashlib
import hmac
import random
import zlib

import pytest

from connector.records import rows_to_table
from connector.uplynk.normalize import (
    ASSET_SCHEMA,
    asset_row,
    fast_asset_row,
    normalize_assets,
)
from connector.uplynk.signing import decode_msg, deflate, sign_params

GOOD = {
    "id": "5915d84829405cb4db1bc3f71c10fc83",
    "external_id": "id1234",
    "desc": "foux du fu fa fa",
    "duration": 88.88598639455783,
    "created": 1345730768265,
    "lastmod": 1345730769000,
    "autoexpire": 0,
    "state": "ready",
    "job_type": "vod",
    "meta": {"b": 1, "a": "x"},
    "mp4_url": "http://storage.uplynk.com/x_g.mp4",
    "thumb_url": "http://storage.uplynk.com/00000014.jpg",
    "rays": 8,
}


def test_zero_epochs_and_empty_external_id_become_null():
    row = asset_row({**GOOD, "external_id": "", "autoexpire": 0, "deleted": 0})
    names = ASSET_SCHEMA.names
    assert row[names.index("external_id")] is None
    assert row[names.index("autoexpire_at")] is None
    assert row[names.index("deleted_at")] is None
    assert row[names.index("meta")] == '{"a":"x","b":1}'  # keys sorted


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("id", "NOT-HEX", "id"),
        ("id", None, "id"),
        ("duration", "n/a", "duration"),
        ("duration", -1, "duration"),
        ("created", -1, "created"),
        ("created", True, "created"),
        ("meta", [1, 2], "meta"),
        ("desc", 42, "desc"),
        ("duration", "", "duration"),
        ("duration", float("nan"), "duration"),
        ("duration", float("inf"), "duration"),
        ("duration", "-3", "duration"),
        ("autoexpire", "abc", "autoexpire"),
        ("deleted", True, "deleted"),
        ("lastmod", "1e999", "lastmod"),
        ("created", 0, "created"),
        ("created", 10**20, "created"),
    ],
)
def test_malformed_asset_is_rejected_with_its_reason(field, value, reason):
    rows, rejects = normalize_assets([GOOD, {**GOOD, field: value}])
    assert len(rows) == 1 and len(rejects) == 1
    assert reason in rejects[0].reason
    assert rejects[0].payload[field] is value


def test_numbers_sent_as_numeric_strings_give_the_same_row():
    as_numbers = {**GOOD, "duration": 88.5, "autoexpire": 1900000000000, "deleted": 0}
    as_strings = {
        **GOOD,
        "duration": "88.5",
        "created": str(GOOD["created"]),
        "lastmod": str(GOOD["lastmod"]),
        "autoexpire": "1900000000000",
        "deleted": "0",
    }
    rows, rejects = normalize_assets([as_numbers, as_strings])
    assert rejects == []
    assert rows[0] == rows[1]
    names = ASSET_SCHEMA.names
    assert rows[1][names.index("created_at")] == 1345730768265
    assert rows[1][names.index("autoexpire_at")] == 1900000000000
    assert rows[1][names.index("deleted_at")] is None  # "0" is 0: not set


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("created", 1345730768, ["created", "1345730768", "milliseconds", "1970"]),
        ("autoexpire", 1345730768, ["autoexpire", "milliseconds", "1970"]),
        ("lastmod", 1345730768265 * 1000, ["lastmod", "milliseconds", "year"]),
        ("deleted", -5, ["deleted", "milliseconds"]),
    ],
)
def test_epochs_in_the_wrong_unit_are_rejected_with_field_value_and_unit(field, value, words):
    rows, rejects = normalize_assets([{**GOOD, field: value}])
    assert rows == [] and len(rejects) == 1
    for word in words:
        assert word in rejects[0].reason


def test_fast_path_agrees_with_detailed_validation():
    """Whatever the fast path accepts, it builds the row the detailed path builds; what the
    detailed path rejects, the fast path never accepts (strings take the detailed path)."""
    rng = random.Random(7)
    bad_values = [None, True, False, -1, 0, "x", "", 1.5, {}, [], 10**13, 1345730768]
    bad_values += ["1345730768265", "88.5", float("nan"), float("inf"), 1345730768265.0]
    accepted_fast = 0
    for _ in range(4000):
        record = dict(GOOD)
        for _ in range(rng.randint(0, 3)):
            record[rng.choice(list(GOOD))] = rng.choice(bad_values)
        try:
            expected = asset_row(record)
        except ValueError:
            expected = None
        fast = fast_asset_row(record)
        if fast is not None:
            accepted_fast += 1
            assert fast == expected, record
        elif expected is not None:  # only numbers sent as strings or floats may go slow
            assert any(
                type(record.get(k)) in (str, float)
                for k in ("created", "lastmod", "deleted", "autoexpire", "duration")
            ), record
    assert accepted_fast > 500


def test_rows_become_an_arrow_table_with_the_declared_schema():
    rows, _ = normalize_assets([GOOD, {**GOOD, "id": "a" * 32, "deleted": 1345730770000}])
    table = rows_to_table(rows, ASSET_SCHEMA)
    assert table.schema == ASSET_SCHEMA
    assert table.column("delete_detected_by").to_pylist() == [None, "feed"]
    assert table.column("created_at")[0].value == GOOD["created"]


def test_signature_is_hmac_sha256_of_the_compressed_message():
    signed = sign_params(
        {"start": 5, "ids": ["a"]}, owner="ab" * 16, api_key="key", timestamp=1700000000
    )
    assert signed["sig"] == hmac.new(b"key", signed["msg"].encode(), hashlib.sha256).hexdigest()
    assert decode_msg(signed["msg"]) == {
        "start": 5,
        "ids": ["a"],
        "_owner": "ab" * 16,
        "_timestamp": 1700000000,
    }


@pytest.mark.parametrize("size", [0, 120, 600, 40_000])
def test_msg_is_a_level_9_zlib_stream_any_zlib_inflates(size):
    data = random.Random(size).randbytes(size // 2).hex().encode()
    stream = deflate(data)
    assert zlib.decompress(stream) == data
    assert stream[1] >> 6 == 3  # FLEVEL: the "maximum compression" level the vendor documents
    assert (stream[0] * 256 + stream[1]) % 31 == 0  # a valid zlib header
