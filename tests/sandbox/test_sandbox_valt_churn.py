"""VALT recordings over simulated time: created, renamed, retention changed, deleted; by the
control API and by ``World.advance``; a reset rebuilds VALT's state."""

from __future__ import annotations

import pytest

from .valt_client import NOT_FOUND, Valt, listed_view


@pytest.fixture
def valt(fresh_sandbox):
    c = Valt(fresh_sandbox.env)
    yield c
    c.close()


def by_id(rows):
    return {r["id"]: r for r in rows}


def test_a_rename_shows_in_the_listing_and_the_details(valt, fresh_sandbox):
    before = by_id(valt.walk())
    out = fresh_sandbox.valt_churn(renames=3)
    assert len(out["renamed"]) == 3 and not out["created"] and not out["deleted"]
    after = by_id(valt.walk())
    assert after.keys() == before.keys()
    for rid in out["renamed"]:
        assert after[rid]["name"] != before[rid]["name"]
        assert valt.details(rid).json()["data"]["name"] == after[rid]["name"]
        assert {**after[rid], "name": before[rid]["name"]} == before[rid]
    unchanged = [k for k in before if k not in out["renamed"]]
    assert all(after[k] == before[k] for k in unchanged)


def test_a_retention_change_shows_only_in_the_details(valt, fresh_sandbox):
    listed_before = valt.walk()
    details_before = {r["id"]: valt.details(r["id"]).json()["data"] for r in listed_before[:60]}
    ids = list(details_before)[:4]
    out = fresh_sandbox.valt_churn(retention_ids=ids, retention_changes=2)
    changed = out["retention_changed"]
    assert changed[:4] == ids and len(changed) == 6
    assert valt.walk() == listed_before  # the listing cannot show it
    for rid in ids:
        now = valt.details(rid).json()["data"]
        assert now["retention"] != details_before[rid]["retention"]
        assert {**now, "retention": details_before[rid]["retention"]} == details_before[rid]


def test_a_given_retention_is_applied_as_is(valt, fresh_sandbox):
    rid = valt.page(limit=1)[0]["id"]
    retention = {"type": "for", "days": 3, "minutes": 5}
    fresh_sandbox.valt_churn(retention_ids=[rid], retention=retention)
    assert valt.details(rid).json()["data"]["retention"] == retention
    row = next(r for r in fresh_sandbox.expected_valt(sha256=False) if r["id"] == rid)
    assert row["retention"] == retention


def test_a_deleted_recording_leaves_the_listing_and_its_details_and_download_are_404(
    valt, fresh_sandbox
):
    listed = valt.walk()
    victim = listed[5]["id"]
    video = valt.details(victim).json()["data"]["videos"][0]["id"]
    out = fresh_sandbox.valt_churn(delete_ids=[victim], deletes=2)
    assert out["deleted"][0] == victim and len(out["deleted"]) == 3
    remaining = [r["id"] for r in valt.walk()]
    assert set(remaining) == {r["id"] for r in listed} - set(out["deleted"])
    for rid in out["deleted"]:
        r = valt.details(rid)
        assert (r.status_code, r.json()) == (404, NOT_FOUND)
    r = valt.download(victim, video)
    assert (r.status_code, r.json()) == (404, NOT_FOUND)
    truth = by_id(fresh_sandbox.expected_valt(sha256=False))
    assert all(truth[rid]["deleted"] for rid in out["deleted"])
    assert sum(r["deleted"] for r in truth.values()) == len(truth) - len(remaining)


def test_creates_are_listed_last_at_the_simulated_now_ties_ordered_by_id(valt, fresh_sandbox):
    fresh_sandbox.advance(3600)
    now_s = fresh_sandbox.now_ms() // 1000
    out = fresh_sandbox.valt_churn(creates=4)
    made = out["created"]
    tail = valt.walk()[-4:]
    assert sorted(made) == [r["id"] for r in tail]
    assert all(now_s <= r["created"] <= now_s + 5 for r in tail)
    assert len({r["created"] for r in tail}) == 1  # one churn call: one second
    truth = by_id(fresh_sandbox.expected_valt(sha256=False))
    assert all(listed_view(truth[r["id"]]) == r for r in tail)


def test_advance_creates_and_deletes_valt_members_of_the_world(valt, fresh_sandbox):
    before = {r["id"] for r in fresh_sandbox.expected_valt(sha256=False)}
    listed_before = {r["id"] for r in valt.walk()}
    fresh_sandbox.advance(600, creates=400, deletes=300)
    truth = by_id(fresh_sandbox.expected_valt(sha256=False))
    new = set(truth) - before
    gone = {k for k in before if truth[k]["deleted"]} & listed_before
    assert 30 < len(new) < 100  # ~15% of the new assets record in VALT
    assert len(gone) >= 5  # ~15% of the deleted ones
    listed = {r["id"] for r in valt.walk()}
    assert listed == (listed_before | new) - gone
    for rid in list(gone)[:5]:
        assert valt.details(rid).status_code == 404


def summary(row: dict) -> tuple:
    return row["id"], row["name"], row["deleted"], row["retention"]["type"], len(row["videos"])


def test_a_reset_rebuilds_valt_state(valt, fresh_sandbox):
    baseline = list(fresh_sandbox.expected_valt(sha256=False))
    fresh_sandbox.valt_config(id_style="int", list_cap=10, download_ttl_s=60)
    out = fresh_sandbox.valt_churn(renames=2, deletes=2, creates=2, retention_changes=2)
    assert all(len(ids) == 2 for ids in out.values())
    token = valt.login()
    fresh_sandbox.reset(seed=7, assets=2000)
    config = fresh_sandbox.valt_config()
    assert (config["id_style"], config["list_cap"], config["download_ttl_s"]) == ("uuid", 100, 1800)
    assert valt.records({}, token).status_code == 401  # tokens belong to the old world
    valt.login()
    # the same world again (its timestamps follow the new epoch: the real now at the reset)
    again = list(fresh_sandbox.expected_valt(sha256=False))
    assert [summary(r) for r in again] == [summary(r) for r in baseline]
    assert set(fresh_sandbox.valt_stats()["churn"].values()) == {0}
    assert len(valt.walk()) == sum(not r["deleted"] for r in baseline)


def test_churn_refuses_unknown_fields_and_ids(fresh_sandbox):
    with pytest.raises(RuntimeError, match="400"):
        fresh_sandbox.valt_churn(renamez=1)
    with pytest.raises(RuntimeError, match="not a live VALT recording"):
        fresh_sandbox.valt_churn(delete_ids=["00000000-0000-4000-8000-000000000000"])
    with pytest.raises(RuntimeError, match="retention"):
        fresh_sandbox.valt_churn(retention_changes=1, retention={"type": "forever"})
