"""IRIS normalize and policy: data API records to raw.iris_assets columns (tokens removed,
keywords as a string or a list), Watch items to ranked rows with rejects, and the rolling
selection. Expected rows are restated by hand from the data dictionary."""

from __future__ import annotations

import pytest

from connector.iris.normalize import (
    asset_fields,
    asset_row,
    recommendation_rows,
    refresh_row,
)
from connector.iris.policy import HOUR_MS, RollingPolicy, plan
from connector.media.urls import strip_token, url_expiry_ms

URL = "http://cdn.test/media-cdn/iris/iris_1/video.mp4?token=0123abcd&expires=1800000000"


def record(**over):
    base = {
        "iris_id": "iris_1",
        "title": "T",
        "description": "D",
        "source_url": URL,
        "thumbnail_url": "https://img.test/t.jpg?sig=zzz&w=1",
        "closed_caption_url": None,
        "length_secs": "61.5",
        "source_keywords": "a, b ,,c",
        "billing_id": 42,
    }
    base.update(over)
    return base


def test_a_data_api_record_becomes_its_columns_without_tokens():
    fields = asset_fields("iris_1", record(), "EXT-1")
    assert fields.url == URL and not fields.not_available
    assert fields.row == {
        "iris_id": "iris_1",
        "platform_id": "EXT-1",
        "title": "T",
        "description": "D",
        "source_url": "http://cdn.test/media-cdn/iris/iris_1/video.mp4?expires=1800000000",
        "source_url_expires_at": 1_800_000_000_000,
        "thumbnail_url": "https://img.test/t.jpg?w=1",
        "closed_caption_url": None,
        "length_s": 61.5,
        "source_keywords": ["a", "b", "c"],
        "billing_id": "42",
    }
    row = asset_row(fields.row, "live", 5)
    assert row[0] == "iris_1" and row[6] == "live" and row[-1] == 5


def test_keywords_as_a_list_and_not_available():
    fields = asset_fields(
        "iris_1", record(source_keywords=["x", " y "], source_url="NOT_AVAILABLE"), None
    )
    assert fields.row["source_keywords"] == ["x", "y"]
    assert fields.not_available and fields.url is None
    assert fields.row["source_url"] is None and fields.row["source_url_expires_at"] is None


@pytest.mark.parametrize(
    ("over", "reason"),
    [
        ({"iris_id": "iris_2"}, "not the one asked for"),
        ({"source_url": "ftp://x"}, "neither NOT_AVAILABLE nor an http"),
        ({"source_keywords": [1, 2]}, "source_keywords"),
        ({"length_secs": -1}, "length_secs is below 0"),
        ({"billing_id": 1.5}, "billing_id"),
        ({"title": 7}, "title is not a string"),
    ],
)
def test_a_record_that_does_not_fit_is_a_reject_reason(over, reason):
    with pytest.raises(ValueError, match=reason):
        asset_fields("iris_1", record(**over), None)


def test_recommendations_keep_their_rank_when_an_item_is_rejected():
    items = [{"iris_id": "a", "platform_id": "P"}, {"title": "no id"}, {"iris_id": "c"}]
    rows, rejects = recommendation_rows("SEED", items, False, 99)
    assert rows == [("SEED", 1, "a", "P", False, 99), ("SEED", 3, "c", None, False, 99)]
    assert [(r.record_id, r.reason) for r in rejects] == [
        ("SEED#2", "recommendation: iris_id is not a non-empty string: None")
    ]


def test_ledger_outcomes_are_the_documented_ones():
    with pytest.raises(ValueError):
        refresh_row("i", 1, "retry", requested=True, run_id="r")


def test_url_helpers():
    assert (
        strip_token("http://h/p?a=1&token=t&expires=5&access_token=x") == "http://h/p?a=1&expires=5"
    )
    assert url_expiry_ms("http://h/p?expires=1800000000") == 1_800_000_000_000
    assert url_expiry_ms("http://h/p?expires=soon") is None
    assert url_expiry_ms("http://h/p?expires=5") is None  # 1970: not a plausible expiry
    assert url_expiry_ms("http://h/p") is None


def test_policy_new_changed_then_the_stalest_share():
    now = 1000 * HOUR_MS
    policy = RollingPolicy(staleness_hours=4, run_interval_hours=1)  # 4 runs per budget
    candidates = [
        ("n2", None, False),
        ("n1", None, True),
        ("c1", now - HOUR_MS, True),
        ("r_old", now - 3 * HOUR_MS, False),  # due: 3 h + 1 h interval reaches the 4 h budget
        ("r_a", now - 2 * HOUR_MS, False),
        ("r_b", now - 2 * HOUR_MS, False),
        ("r_new", now - 1, False),
    ]
    chosen = plan(candidates, now, policy)
    # rest = 4 -> quota 1 (r_old, the stalest), r_old is also due; nothing else
    assert chosen.ids == ["n1", "n2", "c1", "r_old"]
    assert chosen.reasons == ["new", "new", "changed", "rolling"]
    assert (chosen.rest, chosen.quota) == (4, 1)
    everything = plan(candidates, now, policy, everything=True)
    assert sorted(everything.ids) == sorted(c[0] for c in candidates)


def test_over_a_budget_of_runs_every_item_is_looked_at():
    policy = RollingPolicy(staleness_hours=6, run_interval_hours=1)
    checked = {f"id{i:03d}": 0 for i in range(50)}
    sizes = []
    for run in range(1, 7):
        now = run * HOUR_MS
        chosen = plan(((k, v, False) for k, v in checked.items()), now, policy)
        sizes.append(len(chosen))
        for item in chosen.ids:
            checked[item] = now
    assert all(v > 0 for v in checked.values())
    # spread: ceil(50 / 6) = 9 a run, until the last ones fall due before the budget ends
    assert sizes[:4] == [9, 9, 9, 9] and max(sizes) < 50, sizes
