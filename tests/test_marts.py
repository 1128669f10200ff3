"""The marts on a small constructed world: four canonical assets across the four systems,
written straight into the raw tables and core.asset_xref; every mart gives exactly the rows
a reader works out by hand from the world below."""

from __future__ import annotations

import pytest

from connector.marts import build_mart
from connector.warehouse import Warehouse

WORLD = """
INSERT INTO raw.uplynk_assets (asset_id, title, deleted_at, autoexpire_at) VALUES
  ('u1', 'Alpha', NULL, now() + INTERVAL 5 DAY),
  ('u2', 'Bravo', now() - INTERVAL 1 DAY, NULL),
  ('u3', 'Delta', NULL, NULL),
  ('u4', 'Echo', now() - INTERVAL 2 DAY, NULL);
INSERT INTO raw.ibm_videos (video_id, channel_id, title, removed_at) VALUES
  ('101', 'c', 'Alpha', NULL), ('102', 'c', 'Bravo', NULL), ('103', 'c', 'Charlie', NULL);
INSERT INTO raw.ibm_expirations (video_id, rule, expires_at, check_status, checked_at) VALUES
  ('101', 'at_given_time', now() + INTERVAL 10 DAY, 'ok', now()),
  ('102', 'never', NULL, 'ok', now()),
  ('103', 'at_given_time', now() - INTERVAL 1 DAY, 'ok', now());
INSERT INTO raw.valt_recordings (record_id, name, retention_until, removed_at) VALUES
  ('r1', 'Charlie', now() + INTERVAL 20 DAY, NULL);
INSERT INTO raw.iris_assets (iris_id, title, source_url_state, checked_at) VALUES
  ('i1', 'Alpha', 'live', now()), ('i2', 'Bravo', 'live', now());
INSERT INTO raw.iris_resolutions
  (asset_id, platform_id, iris_id, default_recs, recommendations, watched_at) VALUES
  ('u3', 'P3', 'i3', false, 2, TIMESTAMPTZ '2026-01-02 00:00:00+00');
INSERT INTO raw.iris_recommendations
  (seed_platform_id, rank, recommended_iris_id, default_recs, fetched_at) VALUES
  ('P3', 1, 'i1', false, TIMESTAMPTZ '2026-01-02 00:00:00+00'),
  ('P3', 2, 'i2', false, TIMESTAMPTZ '2026-01-02 00:00:00+00'),
  ('P3', 1, 'i2', false, TIMESTAMPTZ '2026-01-01 00:00:00+00');  -- an older snapshot
INSERT INTO core.asset_xref (canonical_id, system, system_id, rule) VALUES
  ('cx_A', 'uplynk', 'u1', 'k'), ('cx_A', 'ibm', '101', 'k'), ('cx_A', 'iris', 'i1', 'k'),
  ('cx_B', 'uplynk', 'u2', 'k'), ('cx_B', 'ibm', '102', 'k'), ('cx_B', 'iris', 'i2', 'k'),
  ('cx_C', 'valt', 'r1', 'k'), ('cx_C', 'ibm', '103', 'k'),
  ('cx_D', 'uplynk', 'u3', 'self'),
  ('cx_E', 'uplynk', 'u4', 'self');  -- deleted everywhere it lived: gone, not an orphan
INSERT INTO meta.ibm_protect_requests (video_id, requested_by, requested_at, note)
  VALUES ('101', 'ops', now(), 'keep');
"""


@pytest.fixture
def world(tmp_path) -> Warehouse:
    wh = Warehouse(tmp_path / "w.duckdb", tmp_path / "lake")
    with wh.write() as tx:
        for statement in WORLD.split(";"):
            if statement.strip():
                tx.execute(statement)
    for name in ("dead_source_urls", "assets_expiring_soon", "catalog_coverage"):
        build_mart(wh, name)
    build_mart(wh, "recommendations_to_unplayable")
    return wh


EXPIRING = "canonical_id, system, system_id, ended_by, also_live_in, iris_recommends, protected"


def test_assets_expiring_soon_names_who_ends_it_where_else_it_lives_and_its_guards(world):
    got = world.query(f"SELECT {EXPIRING} FROM marts.assets_expiring_soon")
    assert got == [
        ("cx_A", "uplynk", "u1", "uplynk_autoexpire", "ibm,iris", True, False),
        ("cx_A", "ibm", "101", "ibm_expiration", "iris,uplynk", True, True),
    ]


def test_the_horizon_macro_agrees_with_the_default_view_and_reaches_further(world):
    view = world.query("SELECT * EXCLUDE (days_left) FROM marts.assets_expiring_soon")
    macro14 = world.query("SELECT * EXCLUDE (days_left) FROM marts.expiring_within(14)")
    assert view == macro14
    got = world.query(f"SELECT {EXPIRING} FROM marts.expiring_within(30)")
    assert got[-1] == ("cx_C", "valt", "r1", "valt_retention", "ibm", False, False)
    assert len(got) == 3  # IBM 103 has already expired: not "in sight"


def test_catalog_coverage_flags_content_live_in_one_system_and_gone_in_another(world):
    got = world.query(
        "SELECT canonical_id, uplynk, ibm, valt, iris, systems_live, orphan "
        "FROM marts.catalog_coverage"
    )
    assert got == [
        ("cx_A", "live", "live", "absent", "present", 3, False),
        ("cx_B", "deleted", "live", "absent", "present", 2, True),
        ("cx_C", "absent", "live", "live", "absent", 2, False),
        ("cx_D", "live", "absent", "absent", "absent", 1, False),
        ("cx_E", "deleted", "absent", "absent", "absent", 0, False),
    ]


def test_recommendations_to_unplayable_reads_only_the_latest_snapshot(world):
    got = world.query(
        "SELECT seed_platform_id, rank, recommended_iris_id, why_unplayable "
        "FROM marts.recommendations_to_unplayable"
    )
    assert got == [("P3", 2, "i2", "deleted in uplynk")]
