"""The marts on a small constructed world: four canonical assets across the four systems,
written straight into the raw tables and core.asset_xref; every mart gives exactly the rows
a reader works out by hand from the world below.

Media URLs of that world (raw.media_url_checks, the last probe of each; the IRIS ledger):
  iris i1 (cx_A)    gone, 404, probed 2026-01-10          -> dead: '404' since that probe
  iris i2 (cx_B)    expired 2026-01-05, refresh gave up   -> dead: 'refresh gave up' since expiry
  iris i5 (no xref) expired, a refresh is pending         -> not dead (it will be refreshed)
  iris i6           error 503 (server trouble)            -> not dead (not a listed reason)
  iris i7 (no URL)  NOT_AVAILABLE since 2026-01-03        -> dead: 'NOT_AVAILABLE'
  uplynk u1 (cx_A)  forbidden, 403                        -> dead: '403'
  uplynk u2 (cx_B)  gone, 410, but u2 is deleted          -> not listed
  uplynk u3 (cx_D)  timeout                               -> dead: 'timeout'
  uplynk u5 (none)  mp4 expired 2026-01-04                -> dead: 'expired token', no canonical id
"""

from __future__ import annotations

import pytest

from connector.marts import build_mart
from connector.warehouse import Warehouse

WORLD = """
INSERT INTO raw.uplynk_assets (asset_id, title, deleted_at, autoexpire_at) VALUES
  ('u1', 'Alpha', NULL, now() + INTERVAL 5 DAY),
  ('u2', 'Bravo', now() - INTERVAL 1 DAY, NULL),
  ('u3', 'Delta', NULL, NULL),
  ('u4', 'Echo', now() - INTERVAL 2 DAY, NULL),
  ('u5', 'Foxtrot', NULL, NULL);
INSERT INTO raw.ibm_videos (video_id, channel_id, title, removed_at) VALUES
  ('101', 'c', 'Alpha', NULL), ('102', 'c', 'Bravo', NULL), ('103', 'c', 'Charlie', NULL);
INSERT INTO raw.ibm_expirations (video_id, rule, expires_at, check_status, checked_at) VALUES
  ('101', 'at_given_time', now() + INTERVAL 10 DAY, 'ok', now()),
  ('102', 'never', NULL, 'ok', now()),
  ('103', 'at_given_time', now() - INTERVAL 1 DAY, 'ok', now());
INSERT INTO raw.valt_recordings (record_id, name, retention_until, removed_at) VALUES
  ('r1', 'Charlie', now() + INTERVAL 20 DAY, NULL);
INSERT INTO raw.iris_assets (iris_id, title, source_url_state, checked_at) VALUES
  ('i1', 'Alpha', 'live', now()), ('i2', 'Bravo', 'live', now()),
  ('i7', 'Golf', 'not_available', TIMESTAMPTZ '2026-01-09 00:00:00+00');
INSERT INTO raw.iris_source_url_refreshes (iris_id, requested_at, outcome, requested) VALUES
  ('i2', TIMESTAMPTZ '2026-01-06 00:00:00+00', 'gave_up', true),
  ('i5', TIMESTAMPTZ '2026-01-02 00:00:00+00', 'refreshed', true),
  ('i7', TIMESTAMPTZ '2026-01-03 00:00:00+00', 'not_available', false);
INSERT INTO meta.iris_refresh_pending (iris_id, requested_at, run_id)
  VALUES ('i5', TIMESTAMPTZ '2026-01-11 00:00:00+00', 'r');
INSERT INTO raw.media_url_checks
  (system, asset_id, url, status, reason, http_status, expires_at, checked_at) VALUES
  ('iris', 'i1', 'https://m/i1.mp4', 'gone', 'HEAD -> 404', 404, NULL,
   TIMESTAMPTZ '2026-01-10 00:00:00+00'),
  ('iris', 'i2', 'https://m/i2.mp4', 'live', 'HEAD -> 200', 200,
   TIMESTAMPTZ '2026-01-05 00:00:00+00', TIMESTAMPTZ '2026-01-01 00:00:00+00'),
  ('iris', 'i5', 'https://m/i5.mp4', 'expired', 'expired', NULL,
   TIMESTAMPTZ '2026-01-01 00:00:00+00', TIMESTAMPTZ '2026-01-10 00:00:00+00'),
  ('iris', 'i6', 'https://m/i6.mp4', 'error', 'HEAD -> 503', 503, NULL,
   TIMESTAMPTZ '2026-01-10 00:00:00+00'),
  ('uplynk', 'u1', 'https://m/u1.mp4', 'forbidden', 'HEAD -> 403', 403, NULL,
   TIMESTAMPTZ '2026-01-10 00:00:00+00'),
  ('uplynk', 'u2', 'https://m/u2.mp4', 'gone', 'HEAD -> 410', 410, NULL,
   TIMESTAMPTZ '2026-01-10 00:00:00+00'),
  ('uplynk', 'u3', 'https://m/u3.mp4', 'timeout', 'no answer within 5s', NULL, NULL,
   TIMESTAMPTZ '2026-01-10 00:00:00+00'),
  ('uplynk', 'u5', 'https://m/u5.mp4', 'expired', 'expired', NULL,
   TIMESTAMPTZ '2026-01-04 00:00:00+00', TIMESTAMPTZ '2026-01-10 00:00:00+00');
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
    assert got == [
        ("P3", 1, "i1", "dead source url: gone (404)"),
        ("P3", 2, "i2", "dead source url: expired, not refreshable (gave_up); deleted in uplynk"),
    ]


DEAD = (
    "SELECT system, asset_id, canonical_id, url, reason, strftime(dead_since, '%m-%d'), "
    "strftime(last_checked_at, '%m-%d'), refresh_state FROM marts.dead_source_urls "
    "ORDER BY system, asset_id"
)


def test_dead_source_urls_give_canonical_asset_reason_since_when_and_refresh_state(world):
    assert world.query(DEAD) == [
        ("iris", "i1", "cx_A", "https://m/i1.mp4", "404", "01-10", "01-10", "never requested"),
        ("iris", "i2", "cx_B", "https://m/i2.mp4", "refresh gave up", "01-05", "01-01", "gave_up"),
        ("iris", "i7", None, None, "NOT_AVAILABLE", "01-03", "01-09", "not_available"),
        ("uplynk", "u1", "cx_A", "https://m/u1.mp4", "403", "01-10", "01-10", "not refreshable"),
        (
            "uplynk",
            "u3",
            "cx_D",
            "https://m/u3.mp4",
            "timeout",
            "01-10",
            "01-10",
            "not refreshable",
        ),
        (
            "uplynk",
            "u5",
            None,
            "https://m/u5.mp4",
            "expired token",
            "01-04",
            "01-10",
            "not refreshable",
        ),
    ]


def _probe(wh: Warehouse, asset_id: str, status: str, day: int) -> None:
    with wh.write() as tx:
        tx.execute(
            "UPDATE raw.media_url_checks SET status = $status, "
            "checked_at = make_timestamptz(2026, 1, $day, 0, 0, 0) WHERE asset_id = $id",
            {"status": status, "day": day, "id": asset_id},
        )
    build_mart(wh, "dead_source_urls")


def _since(wh: Warehouse, asset_id: str) -> list[tuple]:
    return wh.query(
        "SELECT strftime(dead_since, '%m-%d'), strftime(last_checked_at, '%m-%d') "
        "FROM marts.dead_source_urls WHERE asset_id = $id",
        {"id": asset_id},
    )


def test_dead_since_is_the_first_dead_probe_of_the_streak_and_a_live_probe_ends_it(world):
    _probe(world, "i1", "gone", 12)  # still dead: the streak started on the 10th
    assert _since(world, "i1") == [("01-10", "01-12")]
    _probe(world, "u3", "forbidden", 12)  # timeout then 403: one dead streak
    assert _since(world, "u3") == [("01-10", "01-12")]
    _probe(world, "i1", "live", 14)  # plays again: not listed, the streak ends
    assert _since(world, "i1") == []
    _probe(world, "i1", "gone", 16)  # dead again: a new streak
    assert _since(world, "i1") == [("01-16", "01-16")]
