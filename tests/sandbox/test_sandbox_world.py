"""The generated world, in process: ids, determinism, vendor views, churn bookkeeping."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from sandbox.world import World

EPOCH = 1_790_000_000_000


def test_uplynk_id_round_trips_to_its_index_and_rejects_strangers():
    w = World(11, 5000, epoch_ms=EPOCH)
    for i in [0, 1, 2, 77, 4999]:
        aid = w.uplynk_id(i)
        assert len(aid) == 32 and aid == aid.lower()
        assert w.uplynk_index(aid) == i
    ids = w.uplynk_ids(np.arange(5000))
    assert len(set(ids)) == 5000
    assert [w.uplynk_index(a) for a in ids[:200]] == list(range(200))
    other = World(12, 5000, epoch_ms=EPOCH)
    assert other.uplynk_index(ids[5]) is None  # another seed's id
    assert w.uplynk_index(ids[5][:-1] + ("0" if ids[5][-1] != "0" else "1")) is None
    assert w.uplynk_index("F" * 32) is None and w.uplynk_index(None) is None
    beyond = World(11, 6000, epoch_ms=EPOCH).uplynk_id(5500)
    assert w.uplynk_index(beyond) is None  # index not (yet) in this world


def test_external_ids_round_trip_and_some_assets_have_none():
    w = World(11, 5000, epoch_ms=EPOCH)
    exts = [w.external_id(i) for i in range(5000)]
    missing = sum(1 for e in exts if not e)
    assert 0.01 < missing / 5000 < 0.06
    for i, e in enumerate(exts[:300]):
        assert w.external_index(e) == (i if e else None)


def test_same_seed_and_epoch_give_the_same_world_and_churn():
    a, b = World(5, 3000, epoch_ms=EPOCH), World(5, 3000, epoch_ms=EPOCH)
    assert a.uplynk_json(np.arange(3000)) == b.uplynk_json(np.arange(3000))
    c = World(6, 3000, epoch_ms=EPOCH)
    assert a.uplynk_json(np.arange(10)) != c.uplynk_json(np.arange(10))
    # churn is deterministic too (clocks are separate, so compare relative results)
    ra = a.advance(60, creates=10, updates=30, deletes=5)
    rb = b.advance(60, creates=10, updates=30, deletes=5)
    assert ra["created_ids"] == rb["created_ids"]
    assert (a.version == b.version).all() and (a.deleted_ms > 0).sum() == (b.deleted_ms > 0).sum()


def test_assets_look_like_the_vendor_sample():
    w = World(5, 500, epoch_ms=EPOCH)
    d = orjson.loads(w.uplynk_json(np.array([3]))[0])
    for k in (
        "id",
        "external_id",
        "desc",
        "duration",
        "created",
        "lastmod",
        "autoexpire",
        "state",
        "meta",
        "mp4_url",
        "thumb_url",
        "job_type",
        "rays",
        "slices",
        "require_drm",
        "require_studio_drm",
        "test_player_url",
        "test_players",
        "embed_player_url",
        "libraries",
        "break_offsets",
        "orig_filename",
    ):
        assert k in d
    assert isinstance(d["duration"], float) and isinstance(d["meta"], dict)
    assert d["lastmod"] >= d["created"] and d["created"] < EPOCH
    states = {orjson.loads(j)["state"] for j in w.uplynk_json(np.arange(500))}
    assert "ready" in states and states <= {"ready", "slicing", "failed"}


def test_initial_world_has_autoexpiry_and_recent_deletions():
    w = World(5, 20000, epoch_ms=EPOCH)
    ax = w.autoexpire_ms
    assert 0.10 < (ax > 0).mean() < 0.20
    assert ((ax > 0) & (ax <= EPOCH) == (w.deleted_ms == ax) & (ax > 0)).all()
    assert (w.deleted_ms > EPOCH - 6 * 3600_000).sum() > 0  # some inside the delete window


def test_malformed_assets_are_always_the_same_ones():
    a = World(5, 4000, epoch_ms=EPOCH, malformed_fraction=0.02)
    b = World(5, 4000, epoch_ms=EPOCH, malformed_fraction=0.02)
    ma = np.nonzero(a.flags & 1)[0]
    assert 40 <= len(ma) <= 130 and (ma == np.nonzero(b.flags & 1)[0]).all()
    kinds = {a.malformed_kind(int(i)) for i in ma}
    assert kinds == {"duration_not_a_number", "created_negative", "missing_id", "meta_not_a_dict"}
    for i in ma[:20]:
        d = orjson.loads(a.uplynk_json(np.array([i]))[0])
        k = a.malformed_kind(int(i))
        assert (
            (k == "duration_not_a_number" and d["duration"] == "n/a")
            or (k == "created_negative" and d["created"] == -1)
            or (k == "missing_id" and "id" not in d)
            or (k == "meta_not_a_dict" and isinstance(d["meta"], str))
        )


def test_truth_and_vendor_membership_ratios():
    w = World(5, 10000, epoch_ms=EPOCH)
    rows = list(w.truth())
    canon = [r for r in rows if r["canonical_index"] is not None]
    assert len(canon) == 10000
    assert 0.35 < sum(r["ibm_video_id"] is not None for r in canon) / 10000 < 0.45
    assert 0.12 < sum(r["valt_id"] is not None for r in canon) / 10000 < 0.18
    assert 0.55 < sum(r["iris_id"] is not None for r in canon) / 10000 < 0.65
    only = [r for r in rows if r["canonical_index"] is None]
    assert len(only) == w.ibm_only_count + w.valt_only_count + w.iris_only_count > 0
    vids = [r["ibm_video_id"] for r in rows if r["ibm_video_id"]]
    assert len(set(vids)) == len(vids) and all(v.isdigit() for v in vids)
    for r in canon[:500]:
        if r["ibm_video_id"]:
            assert w.ibm_decode(r["ibm_video_id"]) == ("canonical", r["canonical_index"])
    assert w.ibm_decode(w.ibm_video_id(3, vendor_only=True)) == ("ibm_only", 3)
    valt = [r["valt_id"] for r in rows if r["valt_id"]]
    assert valt and all(len(v) == 36 and v.count("-") == 4 for v in valt)  # VALT 6 by default
    w.valt_id_style = "int"  # VALT 5
    assert all(r["valt_id"].isdigit() for r in w.truth() if r["valt_id"])
    assert all(r["iris_id"].startswith("iris_") for r in rows if r["iris_id"])
    plat = [w.iris_platform_id(i) for i in range(2000)]
    assert None in plat and any(p and p != w.external_id(i) for i, p in enumerate(plat))


def test_advance_grows_arrays_and_logs_every_change():
    w = World(5, 1000, epoch_ms=None)
    n0, log0 = w.n, w.log_len()
    r = w.advance(600, creates=100, updates=200, deletes=50, burst=20)
    assert w.n == n0 + 100 and r["changes"] >= 350
    assert w.log_len() == log0 + r["changes"]
    ts = w._log_ts.a
    assert (np.diff(ts) >= 0).all()
    assert (w.created_ms[n0:] > r["from_ms"]).all() and (w.created_ms[n0:] <= r["to_ms"]).all()
    new = w.uplynk_ids(np.arange(n0, w.n))
    assert all(w.uplynk_index(a) == n0 + k for k, a in enumerate(new))
    # the burst: some millisecond holds >= 20 changes
    _, counts = np.unique(ts[log0:], return_counts=True)
    assert counts.max() >= 20


def test_the_world_package_exports_what_its_callers_import():
    from sandbox.world import (
        ACTION_NAMES,
        DAY_MS,
        FLAG_MALFORMED,
        IBM_CHANNEL_IDS,
        MALFORMED_KINDS,
        mix,
        mix_int,
        unmix_int,
    )

    xs = [0, 1, 2**63 + 5, 2**64 - 1]
    assert [unmix_int(mix_int(x)) for x in xs] == xs
    assert mix(np.array(xs, dtype=np.uint64)).tolist() == [mix_int(x) for x in xs]
    assert ACTION_NAMES[:2] == ("update", "delete") and DAY_MS == 86_400_000
    assert FLAG_MALFORMED == 1 and len(IBM_CHANNEL_IDS) == 4 and len(MALFORMED_KINDS) == 4


def test_burst_puts_every_change_at_one_new_ms_uncapped():
    w = World(5, 1000, epoch_ms=None, changes_page_size=20)
    log0 = w.log_len()
    b = w.burst(deletes=30, updates=5)
    t = b["ts_ms"]
    ts = w._log_ts.a
    assert w.log_len() == log0 + 35 and (ts[log0:] == t).all() and (ts[:log0] < t).all()
    dead = [w.uplynk_index(a) for a in b["deleted_ids"]]
    upd = [w.uplynk_index(a) for a in b["updated_ids"]]
    assert (w.deleted_ms[dead] == t).all() and (w.lastmod_ms[upd] == t).all()
    assert (w.version[upd] >= 1).all() and (w.deleted_ms[upd] == 0).all()
    assert w.bursts == [{"ts_ms": t, "deletes": 30, "updates": 5}]
    assert w.now_ms() >= t


def test_world_knobs_are_checked_at_build():
    with pytest.raises(ValueError, match="get_unknown"):
        World(5, 10, get_unknown="sometimes")
    with pytest.raises(ValueError, match="unknown"):
        World(5, 10, colour="red")
    w = World(5, 10, uplynk_clock_offset_s=-1.5)
    assert w.uplynk_offset_ms == -1500 and w.configure(create_action="true") == {
        "create_action": True
    }


def test_ibm_created_at_agrees_with_ibm_video():
    w = World(5, 3000, epoch_ms=EPOCH)
    idx = np.arange(0, 3000, 7)
    assert w.ibm_created_at(idx).tolist() == [w.ibm_video(i)["created_at"] for i in idx.tolist()]
    j = np.arange(w.ibm_only_count)
    assert w.ibm_created_at(j, vendor_only=True).tolist() == [
        w.ibm_video(k, True)["created_at"] for k in j.tolist()
    ]
