"""VALT normalizing: ids as text whichever style, retention_until per type, rejects with
their reason, the listed digest, and the download URL helpers (token removed, JWT exp)."""

from __future__ import annotations

import base64
import json

import pytest

from connector.valt.normalize import (
    RECORDING_SCHEMA,
    VIDEO_SCHEMA,
    details_rows,
    id_text,
    listed_entry,
    listed_hash,
)
from connector.valt.urls import jwt_expiry_ms, query_token, strip_token

CREATED = 1_760_000_000  # 2025-10-09T08:53:20Z
UUID = "6ecfe37c-a2e9-4f2d-b56e-847a4e730ed0"


def details(**over):
    base = {
        "id": UUID,
        "name": "Interview room 3",
        "created": CREATED,
        "author": {"id": 7, "name": "Ann"},
        "type": "recording",
        "duration": 1800.5,
        "room": {"id": "r-9", "name": "Room 9"},
        "cameras": {"1": "Cam A"},
        "sharing": {"groups": [], "users": []},
        "template": [],
        "retention": {"type": "inherit"},
        "markers": [{"id": 1, "event": "start", "time": 3, "color": "red"}],
        "videos": [{"id": "d6799d1c", "camera": "Cam A", "duration": 1800}],
    }
    base.update(over)
    return base


@pytest.mark.parametrize(
    ("retention", "until_ms"),
    [
        ({"type": "inherit"}, None),
        ({"type": "infinitely"}, None),
        ({"type": "until", "until": 1_770_000_000}, 1_770_000_000_000),
        (
            {"type": "for", "days": 2, "hours": 3, "minutes": 4},
            (CREATED + 2 * 86400 + 3 * 3600 + 4 * 60) * 1000,
        ),
        ({"type": "for", "days": 30}, (CREATED + 30 * 86400) * 1000),
        ({"type": "for", "minutes": "90"}, (CREATED + 90 * 60) * 1000),
        ({"type": "for"}, CREATED * 1000),
    ],
)
def test_retention_until_for_every_type(retention, until_ms):
    row, _ = details_rows(UUID, details(retention=retention))
    record = dict(zip(RECORDING_SCHEMA.names, row, strict=True))
    assert record["retention_type"] == retention["type"]
    assert record["retention_until"] == until_ms


def test_every_column_of_a_recording_and_its_videos():
    row, videos = details_rows(UUID, details())
    assert dict(zip(RECORDING_SCHEMA.names, row, strict=True)) == {
        "record_id": UUID,
        "name": "Interview room 3",
        "created_at": CREATED * 1000,
        "duration_s": 1800.5,
        "author_id": "7",
        "author_name": "Ann",
        "room_id": "r-9",
        "room_name": "Room 9",
        "retention_type": "inherit",
        "retention_until": None,
        "markers_count": 1,
        "listed_hash": listed_hash(details()),
    }
    assert [dict(zip(VIDEO_SCHEMA.names, v, strict=True)) for v in videos] == [
        {"record_id": UUID, "video_id": "d6799d1c", "camera": "Cam A", "duration_s": 1800.0}
    ]


def test_integer_ids_of_valt_5_become_the_same_text_as_in_paths():
    row, videos = details_rows("10345", details(id=10345, videos=[{"id": 2, "camera": "B"}]))
    assert row[0] == "10345" and videos[0][:2] == ("10345", "2")
    assert listed_entry({"id": 10345, "created": CREATED})[0] == "10345"
    assert id_text("10345") == "10345"


@pytest.mark.parametrize(
    ("over", "words"),
    [
        ({"retention": {"type": "forever"}}, "retention.type is not one of"),
        ({"retention": None}, "retention is not an object"),
        ({"retention": {"type": "until"}}, "retention.until is missing"),
        ({"retention": {"type": "until", "until": 1_770_000_000_000}}, "retention.until"),
        ({"retention": {"type": "for", "days": -1}}, "retention.days is negative"),
        ({"retention": {"type": "for", "days": "two"}}, "retention.days is not a number"),
        ({"created": 0}, "created is 0"),
        ({"created": 1_760_000_000_000}, "created"),
        ({"duration": -3}, "duration is below 0"),
        ({"author": "Ann"}, "author is not an object"),
        ({"markers": {}}, "markers is not a list"),
        ({"videos": None}, "videos is not a list (missing)"),
        ({"videos": [{"id": "a"}, {"id": "a"}]}, "appears twice"),
        ({"videos": [{"id": "../../etc"}]}, "videos[0].id is not a VALT id"),
        ({"id": "another-one"}, "describe another recording"),
        ({"id": True}, "id is not a VALT id"),
    ],
)
def test_a_recording_that_does_not_fit_is_a_reject_with_its_reason(over, words):
    with pytest.raises(ValueError) as info:
        details_rows(UUID, details(**over))
    assert words in str(info.value)


@pytest.mark.parametrize("bad", [None, "", "a/b", "..", "a..b", -1, 1.5, {"x": 1}, "x" * 200])
def test_ids_that_could_escape_a_path_are_refused(bad):
    with pytest.raises(ValueError):
        id_text(bad)


def test_the_listed_digest_is_the_same_from_the_list_and_from_the_details():
    listed = {
        k: v
        for k, v in details().items()
        if k not in ("template", "retention", "markers", "videos")
    }
    assert listed_entry(listed) == (UUID, listed_hash(details()), CREATED)
    assert listed_hash(details()) == listed_hash(details(retention={"type": "infinitely"}))
    assert listed_hash(details()) != listed_hash(details(name="Renamed"))
    assert listed_entry(dict(listed, created="soon"))[2] is None  # created unreadable: no max


def b64(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def test_the_token_is_removed_and_the_rest_of_the_url_kept_byte_for_byte():
    token = f"{b64({'alg': 'HS256'})}.{b64({'exp': 1_746_565_216, 'iat': 1_746_563_416})}.sig"
    url = f"https://h:8000/distribution/x/1_x_1.mp4?filename=Just%2Ba%2Broom%2B.mp4&access_token={token}"
    assert (
        strip_token(url)
        == "https://h:8000/distribution/x/1_x_1.mp4?filename=Just%2Ba%2Broom%2B.mp4"
    )
    assert query_token(url) == token
    assert jwt_expiry_ms(token) == 1_746_565_216_000
    first = f"https://h/f.mp4?access_token={token}&filename=a"
    assert strip_token(first) == "https://h/f.mp4?filename=a"


@pytest.mark.parametrize(
    "token",
    [
        "not-a-jwt",
        "a.b",
        f"x.{b64({'iat': 1})}.y",
        f"x.{b64({'exp': 'soon'})}.y",
        "x.!!!.y",
        f"x.{b64([1])}.y",
    ],
)
def test_a_token_without_a_readable_exp_has_no_expiry(token):
    assert jwt_expiry_ms(token) is None
