"""Response defects (/_control/defects): each kind answers what it says, ``times`` spends a
rule, and the vendor's own answer is what the defect is measured against."""

from __future__ import annotations

import json
import math
import sys

import httpx
import orjson
import pytest

from .ibm_client import Ibm
from .uplynk_client import Uplynk

LISTING = "/ibm/api/channels/*/videos.json"
BOM = b"\xef\xbb\xbf"


@pytest.fixture
def ibm(fresh_sandbox):
    c = Ibm(fresh_sandbox.env)
    c.login()  # a token before any defect
    yield c
    c.close()


@pytest.fixture
def up(fresh_sandbox):
    c = Uplynk(fresh_sandbox.env)
    yield c
    c.close()


def defect(sandbox, kind: str, path: str = LISTING, vendor: str = "ibm", **kw) -> None:
    sandbox.defects(kind=kind, vendor=vendor, path=path, **kw)


def status(sandbox) -> dict:
    [rule] = sandbox.defects_status()
    return rule


def changes(up) -> httpx.Response:
    return up.raw("/api2/asset/changes", {"start": 0})


# -- whole responses -------------------------------------------------------------------------
def test_html_200_answers_an_html_page_every_time_without_reaching_the_vendor(ibm, fresh_sandbox):
    fresh_sandbox.ibm_reset_stats()
    defect(fresh_sandbox, "html_200")
    for _ in range(3):
        r = ibm.page(ibm.channels[0])
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert r.text.startswith("<!DOCTYPE html>")
    assert status(fresh_sandbox)["applied"] == 3
    assert fresh_sandbox.ibm_stats()["requests"]["videos"] == 0


def test_times_spends_a_rule_on_the_first_n_matching_requests(ibm, fresh_sandbox):
    defect(fresh_sandbox, "empty_200", times=2)
    vid = next(r["id"] for r in fresh_sandbox.expected_ibm() if r["listed"])
    assert ibm.expiration(vid).json()["expiration"]  # another path: not matched
    got = [ibm.page(ibm.channels[0]) for _ in range(3)]
    assert [(r.status_code, r.content) for r in got[:2]] == [(200, b""), (200, b"")]
    assert got[2].json()["videos"]
    assert {k: status(fresh_sandbox)[k] for k in ("matched", "applied", "spent")} == {
        "matched": 2,
        "applied": 2,
        "spent": True,
    }


def test_error_envelope_200_is_each_vendors_own_error_body(ibm, up, fresh_sandbox):
    fresh_sandbox.defects(
        [
            {"kind": "error_envelope_200", "vendor": "ibm", "path": LISTING},
            {"kind": "error_envelope_200", "vendor": "uplynk", "path": "/asset/changes"},
        ]
    )
    r = ibm.page(ibm.channels[0])
    assert r.status_code == 200 and r.json()["error"] == "internal"
    assert r.json()["error_description"] and "videos" not in r.json()
    r = changes(up)
    assert r.status_code == 200 and r.json()["error"] == 1 and r.json()["msg"]


def test_status_answers_any_status_for_one_channel_only(ibm, fresh_sandbox):
    a, b = ibm.channels[:2]
    fresh_sandbox.defects(
        [
            {"kind": "status", "path": f"/channels/{a}/", "params": {"status": 404}},
            {
                "kind": "status",
                "path": f"/channels/{b}/",
                "params": {"status": 503, "body": "upstream down", "headers": {"Retry-After": "7"}},
            },
        ]
    )
    r = ibm.page(a)
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = ibm.page(b)
    assert (r.status_code, r.text, r.headers["retry-after"]) == (503, "upstream down", "7")
    assert ibm.page(ibm.channels[2]).status_code == 200


# -- encodings -------------------------------------------------------------------------------
def test_bom_comes_before_the_vendors_own_body(ibm, fresh_sandbox):
    plain = ibm.page(ibm.channels[0]).content
    defect(fresh_sandbox, "bom")
    raw = ibm.page(ibm.channels[0]).content
    assert raw == BOM + plain
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(raw)


def test_lying_encoding_says_gzip_over_a_plain_body(ibm, fresh_sandbox):
    plain = ibm.page(ibm.channels[0]).content
    defect(fresh_sandbox, "lying_encoding")
    with ibm.http.stream("GET", ibm.listing_url(ibm.channels[0]), headers=ibm.headers) as r:
        assert r.headers["content-encoding"] == "gzip"
        assert b"".join(r.iter_raw()) == plain
    with pytest.raises(httpx.DecodingError):
        ibm.page(ibm.channels[0])


def test_invalid_utf8_lands_inside_a_string_value(ibm, fresh_sandbox):
    title = ibm.page(ibm.channels[0]).json()["videos"][1]["title"]
    defect(fresh_sandbox, "invalid_utf8", params={"path": "videos.1.title"})
    raw = ibm.page(ibm.channels[0]).content
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert (
        json.loads(raw.decode("utf-8", "replace"))["videos"][1]["title"] == "\ufffd\ufffd" + title
    )


def test_nan_replaces_a_number_by_default_the_first(ibm, fresh_sandbox):
    plain = ibm.page(ibm.channels[0]).json()
    defect(fresh_sandbox, "nan", params={"path": "videos.2.views"})
    body = json.loads(ibm.page(ibm.channels[0]).content)  # Python's json accepts NaN
    assert math.isnan(body["videos"][2]["views"]) and body["videos"][3] == plain["videos"][3]
    defect(fresh_sandbox, "nan", path="/oauth2/token")
    raw = ibm.token_response().content
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(raw)
    assert math.isnan(json.loads(raw)["expires_in"])  # the answer's first number


def test_deep_nesting_is_valid_json_deeper_than_1024_levels(ibm, fresh_sandbox):
    plain = ibm.page(ibm.channels[0]).json()
    defect(fresh_sandbox, "deep_nesting")
    raw = ibm.page(ibm.channels[0]).content
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(raw)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(10_000)
    try:
        body = json.loads(raw)
    finally:
        sys.setrecursionlimit(limit)
    depth, v = 0, body.pop("x_trace")
    while isinstance(v, list):
        depth, v = depth + 1, (v[0] if v else None)
    assert depth == 1100 and body == plain


# -- record level ----------------------------------------------------------------------------
def test_drop_key_removes_uplynk_changes_and_ibm_videos(ibm, up, fresh_sandbox):
    fresh_sandbox.defects(
        [
            {"kind": "drop_key", "vendor": "uplynk", "params": {"path": "changes"}},
            {"kind": "drop_key", "vendor": "ibm", "path": LISTING, "params": {"path": "videos"}},
        ]
    )
    body = changes(up).json()
    assert "changes" not in body and {"start", "end", "assets", "error"} <= set(body)
    body = ibm.page(ibm.channels[0]).json()
    assert set(body) == {"paging"}


def test_wrong_type_flips_a_value_to_another_type_or_sets_the_one_given(ibm, fresh_sandbox):
    plain = ibm.page(ibm.channels[0]).json()["videos"]
    fresh_sandbox.defects(
        [
            {"kind": "wrong_type", "path": LISTING, "times": 1, "params": {"path": "videos.*.id"}},
            {"kind": "wrong_type", "path": LISTING, "params": {"path": "paging", "value": "2"}},
        ]
    )
    assert [v["id"] for v in ibm.page(ibm.channels[0]).json()["videos"]] == [
        int(v["id"]) for v in plain
    ]
    assert ibm.page(ibm.channels[0]).json()["paging"] == "2"


def test_set_value_sets_scales_and_shifts_values_at_a_path(ibm, up, fresh_sandbox):
    plain = ibm.page(ibm.channels[0]).json()["videos"]
    before = changes(up).json()
    fresh_sandbox.defects(
        [
            {"kind": "set_value", "vendor": "uplynk", "times": 1, "params": {"path": "end", "scale": 0.001}},
            {"kind": "set_value", "vendor": "uplynk", "times": 1, "params": {"path": "end", "add": -10**9}},
            {"kind": "set_value", "vendor": "uplynk", "params": {"path": "assets.*.duration", "value": -5}},
            {"kind": "set_value", "path": LISTING, "times": 1, "params": {"path": "videos.*.created_at", "scale": 1000}},
            {"kind": "set_value", "path": LISTING, "params": {"path": "videos.0.created_at", "value": 1e20}},
        ]
    )  # fmt: skip
    assert abs(changes(up).json()["end"] - before["end"] / 1000) < 600  # seconds, not ms
    assert abs(changes(up).json()["end"] - (before["end"] - 10**9)) < 60_000  # 11 days back
    assert {a["duration"] for a in changes(up).json()["assets"].values()} == {-5}
    got = ibm.page(ibm.channels[0]).json()["videos"]
    assert [v["created_at"] for v in got] == [v["created_at"] * 1000 for v in plain]
    assert ibm.page(ibm.channels[0]).json()["videos"][0]["created_at"] == 1e20
    assert [r["applied"] for r in fresh_sandbox.defects_status()] == [1, 1, 1, 1, 1]


def test_set_value_with_limit_files_one_asset_under_a_key_that_is_not_its_id(up, fresh_sandbox):
    fresh_sandbox.defects(
        kind="set_value",
        vendor="uplynk",
        params={"path": "assets.*.id", "value": "f" * 32, "limit": 1},
    )
    assets = changes(up).json()["assets"]
    wrong = [k for k, a in assets.items() if a.get("id") != k]
    assert len(assets) > 1 and len(wrong) == 1 and assets[wrong[0]]["id"] == "f" * 32


def test_paging_next_loop_never_ends_and_repeats_the_last_page(ibm, fresh_sandbox):
    channel = ibm.channels[0]
    real, real_bodies = ibm.naive_listing(channel, pagesize=50)
    n = len(real_bodies)
    last_page = [v["id"] for v in real_bodies[-1]["videos"]]
    defect(fresh_sandbox, "paging_next_loop", times=5)
    ids, bodies = ibm.naive_listing(channel, pagesize=50)
    # the real pages, the last one now with a next; four pages past the end repeating it; then
    # the rule is spent (5 answers changed) and the vendor's empty page ends the listing
    assert ids[: len(real)] == real and len(bodies) == n + 5
    nexts = [b["paging"].get("next", "") for b in bodies[n - 1 :]]
    assert [x.split("page=")[1].split("&")[0] for x in nexts[:-1]] == [
        str(n + k) for k in range(1, 6)
    ]
    assert all([v["id"] for v in b["videos"]] == last_page for b in bodies[n : n + 4])
    assert bodies[-1]["videos"] == [] and nexts[-1] == ""
    assert status(fresh_sandbox)["applied"] == 5


def test_token_without_token_is_a_200_token_answer_without_access_token(ibm, fresh_sandbox):
    defect(fresh_sandbox, "token_without_token", path="/oauth2/token")
    r = ibm.token_response()
    assert r.status_code == 200 and r.json() == {"token_type": "bearer", "expires_in": 86400}


# -- the control API -------------------------------------------------------------------------
def test_control_paths_are_never_defective_and_reset_clears_the_rules(fresh_sandbox):
    fresh_sandbox.defects(kind="status", vendor="all", params={"status": 500})
    assert fresh_sandbox.now_ms() > 0 and status(fresh_sandbox)["matched"] == 0
    fresh_sandbox.reset(seed=7, assets=2000)
    assert fresh_sandbox.defects_status() == []


@pytest.mark.parametrize(
    "rule",
    [
        {"kind": "teapot"},
        {"kind": "status"},
        {"kind": "set_value", "params": {"path": "end", "value": 1, "scale": 2}},
        {"kind": "drop_key"},
        {"kind": "set_value", "params": {"path": "end", "scale": "1000"}},
        {"kind": "bom", "params": {"path": "x"}},
        {"kind": "bom", "times": -1},
        {"kind": "bom", "colour": "red"},
    ],
)
def test_an_invalid_rule_is_refused(fresh_sandbox, rule):
    with pytest.raises(RuntimeError, match="400"):
        fresh_sandbox.defects(rule)
