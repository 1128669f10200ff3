-- 0008: since when a media URL has been dead (marts.dead_source_urls.dead_since).
-- raw.media_url_checks keeps only the last probe of each URL (one row per (system, asset_id),
-- replaced on every probe), so the start of a dead streak is recorded here: one row per
-- (system, asset_id) whose last probe saw it gone (404/410), forbidden (403) or timing out,
-- with the first such probe of the current streak.
-- Written by connector/marts (record_dead_streaks.sql) every time marts.dead_source_urls is
-- built, which the Dagster marts asset does whenever raw.media_url_checks changes: a streak
-- starts at the first dead probe a build sees; a probe that finds the URL playing again, or
-- another URL for the asset, ends it (the row is removed).
-- Caveat: two probes between builds (playing, then dead) are seen as the later one only: a
-- streak is never reported earlier than it started, at worst later.
-- Grain and key: (system, asset_id); no PRIMARY KEY (DuckLake has none): the writer keeps
-- it unique.
CREATE TABLE IF NOT EXISTS meta.media_url_dead_streaks (
    system           VARCHAR NOT NULL,  -- iris | uplynk (as raw.media_url_checks.system)
    asset_id         VARCHAR NOT NULL,  -- iris_id or Uplynk asset_id
    url              VARCHAR NOT NULL,  -- the URL of the streak, token removed
    dead_since       TIMESTAMPTZ NOT NULL,  -- checked_at of the first dead probe of the streak
    last_checked_at  TIMESTAMPTZ NOT NULL   -- checked_at of the latest dead probe recorded
);
