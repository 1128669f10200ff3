"""The JSONP / pseudo-JSON reader on the vendor's own samples, copied verbatim from
vendor-docs/iris-player-personalization.txt into tests/fixtures/iris_*.txt, and on the
quirks one at a time. Expected values are read off the documents by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.iris.jsonp import MAX_DEPTH, PseudoJsonError, loads, parse_jsonp

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CALLBACK = "jQuery191028397097534104254_1407970311998"


def fixture(name: str) -> str:
    return (FIXTURES / f"iris_{name}.txt").read_text(encoding="utf-8")


def test_the_watch_sample_reads_as_the_document_shows_it():
    doc = parse_jsonp(fixture("watch_sample"))
    assert doc.callback == CALLBACK
    value = doc.value
    assert value["success"] is True
    assert value["experience"] == "53ebec0d321d0690858dw5r1"
    assert value["sc"] is False
    assert [item["platform_id"] for item in value["next"]] == [
        "241YOFG",
        "343YOW",
        "780YOTSDB",  # '780YOTSDB'' in the document: the doubled quote is dropped
        "9019YOPW",
        "89YWQMD",
        "46YDPA",
    ]
    assert value["next"][0] == {
        "iris_id": "2140j908",
        "platform": "VideoPublisher",
        "content_url": "http://www.credenza.com/asset_1.mp4",
        "platform_id": "241YOFG",
        "title": "Birdman International Trailer",
        "release_date": "2014-08-01 18:34:33 UTC",
    }
    assert value["next"][4]["title"] == "Life & Times Trailer"


def test_the_next_sample_with_trailing_commas_after_reviewed():
    value = loads(fixture("next_sample"))
    items = value["next"]
    assert [i["platform_id"] for i in items] == ["908JOL", "874KFR", "891RGB", "908MAR", "56YLI"]
    assert items[0]["reviewed"] == "2013-02-05 23:02:24 UTC"  # followed by "," then "}"
    assert items[3]["reviewed"] == "2013-09-06 22:35:10 UTC"
    assert "reviewed" not in items[1]
    assert value["experience"] == "53ebec0d321d0690858dw5r1"


def test_the_workflow_watch_sample():
    value = loads(fixture("watch_workflow_sample"))
    assert [i["iris_id"] for i in value["next"]] == [
        "2140j908",
        "51084789cd5f272312231105",
        "539a5ba7f09c3f00172310bb",
        "53cdc6233459980016231012",
        "51084760cd5f2723122310a1",
        "53814f1af1585f0032231014",
    ]
    assert value["next"][2]["platform_id"] == "780YOTSDB"
    assert value["next"][0]["content_url"] == "http://www.credenza.com/asset_0.mp4"


def test_the_update_samples_bare_key_and_missing_comma():
    assert loads(fixture("update_sample")) == {
        "success": True,
        "behavior": {"play": 1},
        "experience": "53ebec0d321d0690858dw5r1",
    }
    # `video_complete: 1` has no quotes and no comma after it in the document
    assert loads(fixture("update_workflow_sample"))["behavior"] == {
        "next_auto": 1,
        "video_complete": 1,
        "percentage_watched": 1,
    }


def test_the_token_sample_is_plain_json():
    assert loads(fixture("token_sample")) == {"access_token": "996JVD321AZ", "scope": "iris_tv"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{'a': 'x'',}", {"a": "x"}),  # the doubled closing quote
        ("{'a': 'it''s'}", {"a": "it's"}),  # a doubled quote inside the text: SQL style
        ("{'a': 'Bob's clip'}", {"a": "Bob's clip"}),  # an apostrophe in the text
        ('{"a": "say \\"hi\\"", "b": \'\\u00e9\\n\'}', {"a": 'say "hi"', "b": "é\n"}),
        ("[1, 2.5, -3e2, 007, true, false, null,]", [1, 2.5, -300.0, 7, True, False, None]),
        ("/**/ cb.x_1 ( {'k': []} ) ;", {"k": []}),
        ("{}", {}),
        ("{'a': {'b': [{'c': 'd',},],},}", {"a": {"b": [{"c": "d"}]}}),
    ],
)
def test_quirks(text, expected):
    assert loads(text) == expected


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("{'a': 1", "line 1 column 8"),
        ("{'a': 'never closed}", "a string closed by its quote"),
        ("{'a': NaN}", "a value"),
        ("{'a': undefined}", "a value"),
        ("[1,,2]", "a value"),
        ("{'a': 1} trailing", "the end of the document"),
        ("cb({'a': 1}", "')'"),
        ("{'a': 1 : 2}", "',' or '}'"),
        ("{'a' 1}", "line 1 column 2: expected a string closed"),  # 'a' is not closed there
        ("{'a': 1 'b': 2}", "',' or '}'"),  # a missing comma on one line is not tolerated
        ("__import__('os').system('true')", "the end of the document"),
        ("", "a value"),
    ],
)
def test_what_it_refuses_says_where_and_why(text, where):
    with pytest.raises(PseudoJsonError) as err:
        loads(text)
    assert where in str(err.value)


def test_nesting_is_bounded():
    deep = "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5)
    with pytest.raises(PseudoJsonError, match="levels of nesting"):
        loads(deep)
    ok = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert loads(ok) is not None


def test_bytes_are_read_as_utf8():
    assert loads("{'t': 'Café'}".encode()) == {"t": "Café"}
