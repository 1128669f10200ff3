"""The table of vendor misbehaviours (issue: "Bad input"), one defect at a time, each vendor,
over loopback against the sandbox's defect switches (``/_control/defects``).

Outcomes:
- ``fails_fast``: a body that cannot change (HTML, empty, NaN, invalid UTF-8, a lying
  Content-Encoding, nesting beyond the parser) is tried at most twice, then the run fails
  with a message naming the vendor and the call; the cursor stays where it was.
- ``shape_error``: a body of the wrong shape is an error for that call, never an empty
  result; the cursor stays where it was.
- ``quarantined``: a record with a value the vendor could not mean is a reject with its
  reason; the run succeeds.
- ``accepted``: harmless (a byte-order mark).
"""

from __future__ import annotations

import pytest

from connector.ibm import ChannelListingError
from connector.kit import describe_failure
from tests.ibm_helpers import run_ibm
from tests.uplynk_helpers import new_warehouse, run_uplynk

CHANGES = "/api2/asset/changes"
FAR_FUTURE_MS = 4_102_444_800_000 + 86_400_000 * 365 * 50  # ~2150

UPLYNK_CASES = [
    ("html_200", {}, "fails_fast"),
    ("empty_200", {}, "fails_fast"),
    ("lying_encoding", {}, "fails_fast"),
    ("invalid_utf8", {}, "fails_fast"),
    ("nan", {"path": "end"}, "fails_fast"),
    ("deep_nesting", {}, "fails_fast"),
    ("error_envelope_200", {}, "shape_error"),
    ("drop_key", {"path": "changes"}, "shape_error"),
    ("drop_key", {"path": "end"}, "shape_error"),
    ("set_value", {"path": "end", "value": FAR_FUTURE_MS}, "shape_error"),
    ("set_value", {"path": "assets.*.duration", "value": -5, "limit": 1}, "quarantined"),
    ("set_value", {"path": "assets.*.created", "scale": 0.001, "limit": 1}, "quarantined"),
    ("set_value", {"path": "assets.*.lastmod", "value": 1e20, "limit": 1}, "quarantined"),
    ("bom", {}, "accepted"),
]


def _id(case) -> str:
    kind, params, outcome = case
    return "-".join([kind, *(str(v) for v in params.values())][:2] + [outcome])


@pytest.mark.parametrize("case", UPLYNK_CASES, ids=[_id(c) for c in UPLYNK_CASES])
def test_uplynk_change_feed_misbehaving(fresh_sandbox, tmp_path, case):
    kind, params, outcome = case
    wh = new_warehouse(tmp_path)
    run_uplynk(fresh_sandbox, wh)
    before = wh.get_state("uplynk")
    fresh_sandbox.advance(seconds=120, updates=30, creates=5)
    fresh_sandbox.defects(vendor="uplynk", path=CHANGES, kind=kind, times=None, params=params)
    if outcome in ("fails_fast", "shape_error"):
        with pytest.raises(Exception) as info:
            run_uplynk(fresh_sandbox, wh)
        text = describe_failure(info.value)
        assert "asset/changes" in text, text
        assert "cursor unchanged" in text, text
        assert wh.get_state("uplynk") == before
        applied = fresh_sandbox.defects_status()[0]["applied"]
        assert 1 <= applied <= 2, f"{applied} identical bad answers were asked for"
        assert fresh_sandbox.env["UPLYNK_API_KEY"] not in text
        return
    report = run_uplynk(fresh_sandbox, wh)
    assert fresh_sandbox.defects_status()[0]["applied"] >= 1, "the defect never applied"
    if outcome == "quarantined":
        assert report.rejected >= 1
        with wh.read() as con:
            reasons = [r[0] for r in con.execute("SELECT reason FROM meta.rejects").fetchall()]
        assert any(params["path"].split(".")[-1] in r for r in reasons), reasons
    else:
        assert report.rejected == 0


IBM_LISTING_CASES = [
    ("error_envelope_200", {}),
    ("drop_key", {"path": "videos"}),
    ("paging_next_loop", {}),
    ("html_200", {}),
]


@pytest.mark.parametrize("case", IBM_LISTING_CASES, ids=[c[0] for c in IBM_LISTING_CASES])
def test_ibm_listing_misbehaving_fails_that_channel_and_marks_nothing_missing(
    fresh_sandbox, tmp_path, case
):
    kind, params = case
    channel = "23481003"
    wh = new_warehouse(tmp_path)
    run_ibm(fresh_sandbox, wh, check_expirations=False)
    fresh_sandbox.defects(
        vendor="ibm", path=f"/channels/{channel}/videos.json", kind=kind, times=None, params=params
    )
    with pytest.raises(ChannelListingError) as info:
        run_ibm(fresh_sandbox, wh, check_expirations=False)
    assert channel in str(info.value)
    with wh.read() as con:
        missing = con.execute(
            "SELECT count(*) FROM raw.ibm_videos WHERE missing_since IS NOT NULL"
        ).fetchone()[0]
    assert missing == 0


def test_ibm_token_answer_without_a_token_fails_fast(fresh_sandbox, tmp_path):
    fresh_sandbox.defects(
        vendor="ibm", path="/oauth2/token", kind="token_without_token", times=None
    )
    with pytest.raises(Exception) as info:
        run_ibm(fresh_sandbox, new_warehouse(tmp_path))
    assert "access_token" in describe_failure(info.value)
    assert fresh_sandbox.defects_status()[0]["applied"] <= 2


def test_uplynk_listing_that_repeats_itself_fails_clearly(fresh_sandbox, tmp_path):
    wh = new_warehouse(tmp_path)
    run_uplynk(fresh_sandbox, wh)
    same = [
        {k: v for k, v in r.items() if k not in ("malformed", "_index", "served_as_strings")}
        for r in fresh_sandbox.expected_uplynk()
        if not r.get("malformed") and not r.get("deleted")
    ][:100]
    fresh_sandbox.defects(
        vendor="uplynk",
        path="/api2/asset/list",
        kind="set_value",
        times=None,
        params={"path": "assets", "value": same},
    )
    with pytest.raises(Exception) as info:
        run_uplynk(fresh_sandbox, wh, full_refresh=True)
    text = describe_failure(info.value)
    assert "repeat" in text and "asset/list" in text, text
    assert fresh_sandbox.defects_status()[0]["applied"] < 50
