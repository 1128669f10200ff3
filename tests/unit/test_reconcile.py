"""core.asset_xref on a small constructed world: rows inserted straight into the raw tables of
a temporary warehouse, the expected clusters written by hand from what each row is.

The world (same content = same letter):
  A  Uplynk u1 (EXT-1, meta names IBM 900) = IBM 900 (title upper-cased) = IRIS i1 (platform
     id spelled "uplynk:ext-1") = VALT v1 (lower case, no punctuation, 1 s shorter)
  B  Uplynk u3 = IBM 901 (typo, colon, "(HD)", 1 s longer) = Uplynk u4 (a re-upload of u3:
     same title and duration, created months later)
  C  Uplynk u8 (meta names IBM 999, which does not exist yet) = IRIS i8 (EXT-8)
  decoys: Uplynk u2 (the next episode of u1, which IBM 900 is), IBM 902 ("Part 2" of u2, which
     IBM does not hold), same date and length
  ambiguous: VALT v2 has the title of Uplynk u5 and u6 (two contents, same title, length, day)
  D  Uplynk u6 = Uplynk u9 (a re-upload of u6 retitled since: same series, episode and length
     to the millisecond, held nowhere else); u5 and u6 share a title but not their length
  shared key: IRIS i2 and i3 both spell EXT-7 (Uplynk u7): a key IRIS holds once
"""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.reconcile import ReconcileOptions, reconcile
from connector.warehouse import Warehouse

UPLYNK = [
    (
        "u1",
        "EXT-1",
        "Blue Harbor S01E02 - Brave Sea",
        100.4,
        "2025-01-01 10:00",
        '{"ibm_video_id":"900"}',
    ),
    ("u2", "EXT-2", "Blue Harbor S01E03 - Brave Sea", 100.2, "2025-01-01 10:00", "{}"),
    ("u3", "EXT-3", "City Lights S02E01 - Quiet Night", 2000.7, "2025-02-01 10:00", "{}"),
    ("u4", None, "City Lights S02E01 - Quiet Night", 2000.7, "2025-09-01 10:00", "{}"),
    ("u5", "EXT-5", "Green Line S03E04 - Open Door", 1500.0, "2025-03-01 08:00", "{}"),
    ("u6", "EXT-6", "Green Line S03E04 - Open Door", 1500.2, "2025-03-01 08:30", "{}"),
    ("u9", None, "Green Line S03E04 - Closed Door", 1500.2, "2025-06-01 08:30", "{}"),
    ("u7", "EXT-7", "Red Canyon S05E05 - Long Road", 3000.0, "2025-04-01 10:00", "{}"),
    (
        "u8",
        "EXT-8",
        "Iron Bridge S02E09 - Cold Rain",
        800.0,
        "2025-05-01 10:00",
        '{"ibm_video_id":"999"}',
    ),
]
IBM = [
    ("900", "BLUE HARBOR S01E02 - BRAVE SEA", 100.0, "2025-01-01 10:30"),
    ("901", "City Lights S02E01: Quiet Nigth (HD)", 2001.0, "2025-02-01 10:20"),
    ("902", "Blue Harbor S01E03 - Brave Sea Part 2", 100.0, "2025-01-01 10:40"),
]
VALT = [
    ("v1", "blue harbor s01e02 brave sea", 99.0, "2025-01-01 09:40"),
    ("v2", "Green Line S03E04 - Open Door", 1500.0, "2025-03-01 08:10"),
]
IRIS = [
    ("i1", "uplynk:ext-1", "Blue Harbor S01E02 - Brave Sea", 100.0),
    ("i2", "EXT-7", "Red Canyon S05E05 - Long Road", 3000.0),
    ("i3", " ext-7 ", "Red Canyon S05E05 - Long Road", 3000.0),
    ("i8", "EXT-8", "Iron Bridge S02E09 - Cold Rain", 800.0),
]
EXPECTED = {
    frozenset({"uplynk:u1", "ibm:900", "iris:i1", "valt:v1"}),
    frozenset({"uplynk:u3", "uplynk:u4", "ibm:901"}),
    frozenset({"uplynk:u8", "iris:i8"}),
    frozenset({"uplynk:u6", "uplynk:u9"}),
} | {
    frozenset({n})
    for n in [
        "uplynk:u2",
        "ibm:902",
        "uplynk:u5",
        "valt:v2",
        "uplynk:u7",
        "iris:i2",
        "iris:i3",
    ]
}


def _insert(wh: Warehouse, ibm: list[tuple] = IBM, iris: list[tuple] = IRIS) -> None:
    with wh.write() as tx:
        for row in UPLYNK:
            tx.run(
                "INSERT INTO raw.uplynk_assets (asset_id, external_id, title, duration_s, "
                "created_at, meta) VALUES ($1, $2, $3, $4, CAST($5 || ':00+00' AS TIMESTAMPTZ), $6)",
                dict(zip("123456", row, strict=True)),
            )
        _insert_ibm(tx, ibm)
        for row in VALT:
            tx.run(
                "INSERT INTO raw.valt_recordings (record_id, name, duration_s, created_at) "
                "VALUES ($1, $2, $3, CAST($4 || ':00+00' AS TIMESTAMPTZ))",
                dict(zip("1234", row, strict=True)),
            )
        _insert_iris(tx, iris)


def _insert_ibm(tx, rows: list[tuple]) -> None:
    for row in rows:
        tx.run(
            "INSERT INTO raw.ibm_videos (video_id, title, length_s, created_at) "
            "VALUES ($1, $2, $3, CAST($4 || ':00+00' AS TIMESTAMPTZ))",
            dict(zip("1234", row, strict=True)),
        )


def _insert_iris(tx, rows: list[tuple]) -> None:
    for row in rows:
        tx.run(
            "INSERT INTO raw.iris_assets (iris_id, platform_id, title, length_s, "
            "source_url_state, checked_at) VALUES ($1, $2, $3, $4, 'unknown', now())",
            dict(zip("1234", row, strict=True)),
        )


def clusters(wh: Warehouse) -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for cid, system, sid in wh.query("SELECT canonical_id, system, system_id FROM core.asset_xref"):
        out.setdefault(cid, set()).add(f"{system}:{sid}")
    return {cid: frozenset(m) for cid, m in out.items()}


def xref_rows(wh: Warehouse) -> list[tuple]:
    return wh.query("SELECT * FROM core.asset_xref ORDER BY system, system_id")


@pytest.fixture
def wh(tmp_path: Path) -> Warehouse:
    warehouse = Warehouse(tmp_path / "w.duckdb", tmp_path / "lake")
    _insert(warehouse)
    return warehouse


def test_constructed_world_gives_exactly_the_expected_clusters(wh):
    report = reconcile(wh)
    assert set(clusters(wh).values()) == EXPECTED
    rules = dict(
        ((s, i), r) for s, i, r in wh.query("SELECT system, system_id, rule FROM core.asset_xref")
    )
    assert rules[("ibm", "900")] == "uplynk.meta.ibm_video_id=ibm.video_id"
    assert rules[("iris", "i1")] == "uplynk.external_id=iris.platform_id"
    assert rules[("valt", "v1")] == "fuzzy:valt~uplynk"
    assert rules[("ibm", "901")] == "fuzzy:ibm~uplynk"
    assert rules[("uplynk", "u4")] == "reupload:uplynk"  # u3's re-upload
    assert rules[("uplynk", "u9")] == "reupload:uplynk"
    assert rules[("uplynk", "u2")] == "self" and rules[("ibm", "902")] == "self"
    assert report.status == "ok" and report.records == 18 and report.clusters == len(EXPECTED)


def test_decoys_are_not_merged(wh):
    reconcile(wh)
    by_member = {m: c for c in clusters(wh).values() for m in c}
    assert by_member["uplynk:u2"] == {"uplynk:u2"}  # the next episode
    assert by_member["ibm:902"] == {"ibm:902"}  # "Part 2" of u2


def test_ambiguous_and_shared_keys_are_recorded_not_guessed(wh):
    reconcile(wh)
    got = {
        (s, i, r, cs, frozenset({a, b}), reason)
        for s, i, r, cs, a, _, b, _, reason in wh.query(
            "SELECT system, system_id, rule, candidate_system, candidate_a, score_a, "
            "candidate_b, score_b, reason FROM core.xref_conflicts"
        )
    }
    assert got == {
        ("valt", "v2", "fuzzy:valt~uplynk", "uplynk", frozenset({"u5", "u6"}), "ambiguous"),
        (
            "uplynk",
            "u7",
            "uplynk.external_id=iris.platform_id",
            "iris",
            frozenset({"i2", "i3"}),
            "shared_key",
        ),
        # with no key link, both IRIS rows also claim u7 by title: contested, not guessed
        ("uplynk", "u7", "fuzzy:iris~uplynk", "iris", frozenset({"i2", "i3"}), "contested"),
    }
    undecided = ["valt:v2", "uplynk:u5", "uplynk:u7", "iris:i2", "iris:i3"]
    by_member = {m: c for c in clusters(wh).values() for m in c}
    assert all(by_member[m] == {m} for m in undecided)  # none of them guessed into a cluster
    assert by_member["uplynk:u6"] == {"uplynk:u6", "uplynk:u9"}  # only its re-upload
    scores = wh.query("SELECT score_a, score_b FROM core.xref_conflicts WHERE system = 'valt'")[0]
    assert all(s is not None for s in scores)


def test_a_rerun_changes_nothing(wh):
    reconcile(wh)
    before = xref_rows(wh)
    again = reconcile(wh)
    assert xref_rows(wh) == before  # linked_at included
    assert (again.dirty, again.inserted, again.updated, again.candidates_scored) == (0, 0, 0, 0)


def test_canonical_ids_survive_new_members(wh):
    reconcile(wh)
    before = {m: cid for cid, ms in clusters(wh).items() for m in ms}
    with wh.write() as tx:
        _insert_ibm(tx, [("999", "Iron Bridge S02E09 - Cold Rain", 800.0, "2025-05-01 10:05")])
        _insert_iris(tx, [("i9", "EXT-3", "City Lights S02E01 - Quiet Night", 2001.0)])
    report = reconcile(wh)
    after = {m: cid for cid, ms in clusters(wh).items() for m in ms}
    assert {m: after[m] for m in before} == before  # nobody renamed
    assert after["ibm:999"] == before["uplynk:u8"] and after["iris:i9"] == before["uplynk:u3"]
    # only the two new records were matched again: i9 blocks with u3 and u4 (same title),
    # IBM 999 with u8 (same title) and u7? no: with u8 only
    assert report.dirty == 2 and report.inserted == 2
    assert (
        report.candidates_scored
        == wh.query("SELECT count(*) FROM meta.xref_candidates WHERE left_id IN ('999', 'i9')")[0][
            0
        ]
    )


def test_missing_systems_are_empty_systems(tmp_path):
    rules = Path(__file__).parents[2] / "connector" / "reconcile" / "rules.toml"
    text = rules.read_text().replace('"raw.valt_recordings"', '"raw.no_such_valt"')
    text = text.replace('"raw.iris_assets"', '"raw.no_such_iris"')
    custom = tmp_path / "rules.toml"
    custom.write_text(text)
    wh = Warehouse(tmp_path / "w.duckdb", tmp_path / "lake")
    _insert(wh)
    report = reconcile(wh, ReconcileOptions(rules=custom))
    assert report.systems == ["ibm", "uplynk"]
    got = {c for c in clusters(wh).values() if len(c) > 1}
    assert got == {
        frozenset({"uplynk:u1", "ibm:900"}),
        frozenset({"uplynk:u3", "uplynk:u4", "ibm:901"}),
        frozenset({"uplynk:u6", "uplynk:u9"}),
    }
