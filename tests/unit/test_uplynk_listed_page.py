"""The listing's fast page decoder gives exactly what the general path gives.

The general path (orjson, then ``normalize_assets``, tested on its own in
test_uplynk_normalize.py) is the reference: for any page, ``decode_list_page`` must give the
same count, ids, rows and rejects, either by its fast path or by handing the page back.
"""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from connector.uplynk.listed_page import ListedPage, decode_list_page
from sandbox.world import World

EPOCH = 1_790_000_000_000
GOOD = {
    "id": "26f4102f0a5689194fb62fcd7217f713",
    "created": 1_732_390_584_683,
    "lastmod": 1_786_746_909_727,
    "autoexpire": 0,
    "duration": 1000.5,
    "external_id": "EXT-1",
    "desc": "Blue Harbor S01E07",
    "state": "ready",
    "job_type": "vod",
    "meta": {"series": "Blue Harbor", "genre": "doc", "nested": {"b": 1, "a": [2.5, None]}},
    "mp4_url": "http://cdn/x.mp4",
    "thumb_url": "http://cdn/x.jpg",
    "rays": 5,
    "test_players": [{"id": "p", "url": "u"}],
}


def page_body(records: list, error: int = 0) -> bytes:
    return orjson.dumps({"assets": records, "shared_assets": [], "error": error})


def general(body: bytes) -> ListedPage:
    return ListedPage.from_records(orjson.loads(body)["assets"])


def decoded(body: bytes) -> tuple[ListedPage, bool]:
    """The page as the client gets it, and whether the fast path made it."""
    result = decode_list_page(body)
    if isinstance(result, ListedPage):
        return result, True
    return ListedPage.from_records(result["assets"]), False


def world_pages(**knobs) -> list[bytes]:
    w = World(3, 3000, epoch_ms=EPOCH, **knobs)
    return [
        ('{"assets":[' + ",".join(w.uplynk_json(np.arange(s, s + 100))) + '],"error":0}').encode()
        for s in range(0, 3000, 100)
    ]


def test_sandbox_pages_take_the_fast_path_with_the_general_paths_rows():
    for body in world_pages():
        page, fast = decoded(body)
        assert fast
        assert page == general(body)


def test_pages_with_malformed_or_stringly_assets_give_the_general_paths_rows_and_rejects():
    pages = world_pages(malformed_fraction=0.02, numbers_as_strings=0.02)
    paths = []
    for body in pages:
        page, fast = decoded(body)
        assert page == general(body)
        paths.append(fast)
    assert any(paths) and not all(paths)  # both paths were exercised
    assert sum(len(general(b).rejects) for b in pages) > 0


@pytest.mark.parametrize(
    "change",
    [
        {},
        {"created": True},
        {"created": 1_732_390_584_683.0},
        {"created": "1732390584683"},
        {"created": 0},
        {"created": 5},
        {"created": 4_200_000_000_000},
        {"lastmod": 5},
        {"lastmod": 0},
        {"lastmod": None},
        {"lastmod": False},
        {"deleted": 1_786_746_909_999},
        {"deleted": 999},
        {"autoexpire": 1_786_746_909_999},
        {"autoexpire": -1},
        {"duration": 7},
        {"duration": -0.5},
        {"duration": "n/a"},
        {"duration": None},
        {"id": "26F4102F0A5689194FB62FCD7217F713"},
        {"id": "26f4102f0a5689194fb62fcd7217f71\n"},
        {"id": "26f4102f0a5689194fb62fcd7217f7130"},
        {"id": 7},
        {"id": None},
        {"external_id": ""},
        {"external_id": 5},
        {"desc": ["x"]},
        {"state": None},
        {"meta": None},
        {"meta": {}},
        {"meta": "series=Blue Harbor"},
        {"meta": ["a"]},
        {"meta": 3},
        {"mp4_url": {"u": 1}},
    ],
    ids=lambda c: ",".join(f"{k}={v!r}" for k, v in c.items()) or "valid",
)
@pytest.mark.parametrize("missing", [None, "lastmod", "meta", "duration", "created", "id"])
def test_every_field_edge_gives_the_general_paths_answer(change, missing):
    record = {**GOOD, **change}
    if missing in record and missing not in change:
        del record[missing]
    body = page_body([GOOD, record, {**GOOD, "id": "0" * 32}])
    page, _ = decoded(body)
    assert page == general(body)


def test_records_that_are_not_objects_are_counted_and_rejected():
    body = page_body([GOOD, "oops", None, 3])
    page, fast = decoded(body)
    assert not fast
    assert page == general(body)
    assert page.count == 4 and page.ids == [GOOD["id"]] and len(page.rejects) == 3


def test_meta_is_stored_with_sorted_keys_on_the_fast_path():
    page, fast = decoded(page_body([GOOD]))
    assert fast
    meta = page.rows[0][10]
    assert meta == orjson.dumps(GOOD["meta"], option=orjson.OPT_SORT_KEYS).decode()
    assert meta.index('"genre"') < meta.index('"series"')


@pytest.mark.parametrize("body", [page_body([GOOD], error=1), b'{"error":0}', b"[1]"])
def test_an_envelope_that_is_not_a_success_page_goes_back_to_the_caller_unjudged(body):
    assert decode_list_page(body) == orjson.loads(body)


def test_a_body_that_is_not_json_raises_for_the_http_core_to_handle():
    with pytest.raises(orjson.JSONDecodeError):
        decode_list_page(b'{"assets":[{"id": ')
