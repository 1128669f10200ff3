"""The shared coercion rule for numbers and the range-checked epochs (connector/records.py),
and that every source applies them the same way."""

from __future__ import annotations

import pytest

from connector.ibm.normalize import VIDEO_SCHEMA, normalize_videos
from connector.records import epoch_ms, number, optional_number
from connector.uplynk.normalize import ASSET_SCHEMA, normalize_assets

MS_2024 = 1_732_400_000_000  # 2024-11-23T22:13:20Z
S_2024 = 1_732_400_000


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1800, 1800),
        (1800.5, 1800.5),
        ("1800", 1800),
        ("1800.5", 1800.5),
        ("1732400000000", 1732400000000),
        ("-3", -3),
        ("1e3", 1000.0),
    ],
)
def test_numbers_and_numeric_strings_are_accepted(value, expected):
    out = number(value, "x")
    assert out == expected and type(out) is type(expected)


@pytest.mark.parametrize(
    "value",
    [
        True,
        False,
        "abc",
        "",
        " 1800",
        "1800 ",
        "NaN",
        "nan",
        "inf",
        "Infinity",
        "1e999",
        float("nan"),
        float("inf"),
        float("-inf"),
        None,
        [],
        {},
        "0x10",
        "1,800",
        "--1",
    ],
)
def test_anything_else_is_a_reject_naming_the_field(value):
    with pytest.raises(ValueError, match="^duration "):
        number(value, "duration")


def test_optional_number_absent_is_none_and_the_minimum_is_enforced():
    assert optional_number({}, "duration", minimum=0) is None
    assert optional_number({"duration": "0"}, "duration", minimum=0) == 0.0
    with pytest.raises(ValueError, match="duration"):
        optional_number({"duration": -0.5}, "duration", minimum=0)


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (MS_2024, "ms", MS_2024),
        (str(MS_2024), "ms", MS_2024),
        (S_2024, "s", MS_2024),
        (str(S_2024), "s", MS_2024),
        (S_2024 + 0.25, "s", MS_2024 + 250),
        (0, "ms", None),
        ("0", "s", None),
        (None, "s", None),
        (946_684_800_000, "ms", 946_684_800_000),  # 2000-01-01, the first plausible instant
    ],
)
def test_plausible_epochs_become_ms_and_zero_means_not_set(value, unit, expected):
    assert epoch_ms(value, "created_at", unit=unit) == expected


@pytest.mark.parametrize(
    ("value", "unit", "words"),
    [
        (S_2024, "ms", ["1732400000", "milliseconds", "1970"]),  # s where ms documented
        (MS_2024, "s", ["1732400000000", "seconds", "year"]),  # ms where s documented
        (10**20, "ms", ["milliseconds"]),  # overflow
        (1e20, "s", ["seconds"]),
        (-5, "s", ["seconds", "1969"]),
        (946_684_799_999, "ms", ["1999-12-31"]),  # one ms before 2000
        (4_102_444_800, "s", ["2100-01-01"]),  # 2100-01-01 itself is out
    ],
)
def test_implausible_epochs_are_rejected_naming_field_value_and_unit(value, unit, words):
    with pytest.raises(ValueError) as info:
        epoch_ms(value, "created_at", unit=unit)
    assert str(info.value).startswith("created_at ")
    for word in words:
        assert word in str(info.value)


def test_required_epoch_rejects_absent_and_zero():
    for value in (None, 0, "0"):
        with pytest.raises(ValueError, match="created"):
            epoch_ms(value, "created", unit="ms", required=True)


def test_a_huge_value_does_not_flood_the_reason():
    with pytest.raises(ValueError) as info:
        epoch_ms("9" * 5000, "lastmod", unit="ms")
    assert len(str(info.value)) < 200


def test_every_source_reads_numeric_strings_the_same_way():
    """Uplynk ``duration``/``created`` and IBM ``length``/``created_at`` sent as strings
    give the rows the numbers give; the same junk is rejected by both."""
    asset = {"id": "a" * 32, "duration": 1800, "created": MS_2024}
    video = {"id": "123", "length": 1800, "created_at": S_2024, "added_at": S_2024}
    u_num, _ = normalize_assets([asset])
    u_str, _ = normalize_assets([{**asset, "duration": "1800", "created": str(MS_2024)}])
    i_num, _ = normalize_videos([video], "9")
    i_str, _ = normalize_videos(
        [{**video, "length": "1800", "created_at": str(S_2024), "added_at": str(S_2024)}], "9"
    )
    assert u_num == u_str and i_num == i_str
    duration = ASSET_SCHEMA.names.index("duration_s")
    length = VIDEO_SCHEMA.names.index("length_s")
    assert u_str[0][duration] == i_str[0][length] == 1800.0
    created = ASSET_SCHEMA.names.index("created_at")
    assert u_str[0][created] == i_str[0][VIDEO_SCHEMA.names.index("created_at")] == MS_2024
    for junk in ("", "abc", True, "NaN"):
        _, u_bad = normalize_assets([{**asset, "duration": junk}])
        _, i_bad = normalize_videos([{**video, "length": junk}], "9")
        assert "duration" in u_bad[0].reason and "length" in i_bad[0].reason


def test_ibm_epochs_in_ms_and_negative_length_are_rejected():
    video = {"id": "123", "length": "60", "created_at": S_2024}
    rows, rejects = normalize_videos(
        [
            {**video, "created_at": MS_2024},
            {**video, "added_at": 1e20},
            {**video, "length": "-1"},
            {**video, "id": 123},  # ids stay strings
        ],
        "9",
    )
    assert rows == []
    reasons = [r.reason for r in rejects]
    assert "created_at" in reasons[0] and "seconds" in reasons[0]
    assert "added_at" in reasons[1]
    assert "length" in reasons[2]
    assert "id" in reasons[3]
