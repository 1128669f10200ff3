"""IBM channel listings: newest first with item/page counts, and uploads and deletions between
the pages of a listing, with the ground truth of what existed throughout."""

from __future__ import annotations

import math

import pytest

from .ibm_client import Ibm


@pytest.fixture
def ibm(fresh_sandbox):
    c = Ibm(fresh_sandbox.env)
    yield c
    c.close()


def listed(sandbox, channel: str) -> list[dict]:
    return [r for r in sandbox.expected_ibm() if r["listed"] and r["channel_id"] == channel]


def newest_first(rows: list[dict]) -> list[str]:
    """The vendor's "recent" order restated: created_at descending, then id descending."""
    return [r["id"] for r in sorted(rows, key=lambda r: (r["created_at"], int(r["id"])))][::-1]


def test_a_listing_is_newest_first_with_item_and_page_counts(ibm, fresh_sandbox):
    channel = ibm.channels[1]
    rows = listed(fresh_sandbox, channel)
    ids, bodies = ibm.naive_listing(channel, pagesize=50)
    assert ids == newest_first(rows)
    for body in bodies:
        assert body["paging"]["item_count"] == len(rows)
        assert body["paging"]["page_count"] == math.ceil(len(rows) / 50) == len(bodies)


def test_listing_order_oldest_reverses_it(ibm, fresh_sandbox):
    channel = ibm.channels[2]
    fresh_sandbox.ibm_config(listing_order="oldest")
    ids, _ = ibm.naive_listing(channel, pagesize=50)
    assert ids == newest_first(listed(fresh_sandbox, channel))[::-1]


def test_uploads_during_a_listing_make_an_offset_client_see_videos_twice(ibm, fresh_sandbox):
    channel = ibm.channels[0]
    at_start = {r["id"] for r in listed(fresh_sandbox, channel)}
    fresh_sandbox.ibm_config(listing_churn={"every_requests": 1, "uploads": 2})
    ids, bodies = ibm.naive_listing(channel, pagesize=20)
    [truth] = fresh_sandbox.ibm_listings(channel)
    assert truth["state"] == "complete" and truth["pages"] == len(bodies)
    assert len(truth["uploaded"]) == 2 * (len(bodies) - 1) and truth["deleted"] == []
    assert set(truth["existed_throughout"]) == at_start
    # every page shifted the rest by two: the offset client saw videos again, missed none
    assert len(ids) - len(set(ids)) == len(truth["uploaded"])
    assert at_start <= set(ids)
    # the uploads are live videos of the channel, the newest on top
    now = {r["id"]: r for r in listed(fresh_sandbox, channel)}
    assert all(now[v]["uploaded"] for v in truth["uploaded"])
    assert ibm.page(channel, 1, 1).json()["videos"][0]["id"] == truth["uploaded"][-1]


def test_deletes_from_served_pages_make_an_offset_client_miss_videos(ibm, fresh_sandbox):
    channel = ibm.channels[3]
    at_start = {r["id"] for r in listed(fresh_sandbox, channel)}
    fresh_sandbox.ibm_config(listing_churn={"every_requests": 2, "deletes": 1})
    ids, bodies = ibm.naive_listing(channel, pagesize=20)
    [truth] = fresh_sandbox.ibm_listings(channel)
    deleted = set(truth["deleted"])
    assert len(deleted) == (len(bodies) - 1) // 2 and deleted <= at_start
    assert set(truth["existed_throughout"]) == at_start - deleted
    missed = set(truth["existed_throughout"]) - set(ids)
    assert len(missed) == len(deleted) and len(ids) == len(set(ids))
    gone = {r["id"]: r for r in fresh_sandbox.expected_ibm() if r["id"] in deleted}
    assert all(not r["listed"] and r["removed_at"] for r in gone.values())
    assert ibm.expiration(next(iter(deleted))).status_code == 404


def test_a_listing_restarted_before_its_last_page_is_abandoned(ibm, fresh_sandbox):
    channel = ibm.channels[0]
    ibm.page(channel, 1, 10)
    ibm.page(channel, 2, 10)
    ibm.naive_listing(channel, pagesize=50)
    first, second = fresh_sandbox.ibm_listings(channel)
    assert (first["state"], first["pages"]) == ("abandoned", 2)
    assert second["state"] == "complete"
    fresh_sandbox.ibm_clear_listings()
    assert fresh_sandbox.ibm_listings() == []


def test_control_churn_uploads_and_deletes_now(ibm, fresh_sandbox):
    channel = ibm.channels[1]
    before = {r["id"] for r in listed(fresh_sandbox, channel)}
    victim = sorted(before)[0]
    out = fresh_sandbox.ibm_churn(channel, uploads=3, deletes=2, delete_ids=[victim])
    assert len(out["uploaded"]) == 3 and len(out["deleted"]) == 3 and victim in out["deleted"]
    after = {r["id"] for r in listed(fresh_sandbox, channel)}
    assert after == (before - set(out["deleted"])) | set(out["uploaded"])
    ids, _ = ibm.naive_listing(channel)
    assert set(ids) == after and ids[:3] == out["uploaded"][::-1]
    with pytest.raises(RuntimeError, match="unknown channel"):
        fresh_sandbox.ibm_churn("999", uploads=1)
