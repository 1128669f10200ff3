-- Uplynk: current state of every asset the feed or a listing has shown us, and the
-- de-duplicated change log. Grain: raw.uplynk_assets one row per asset_id (deleted assets
-- stay as tombstones with deleted_at set); raw.uplynk_changes one row per
-- (change_ts, action, asset_id). No PRIMARY KEY constraints (DuckLake has none): keys are
-- kept unique by the warehouse upsert and verified by the uplynk asset checks.
CREATE TABLE IF NOT EXISTS raw.uplynk_assets (
    asset_id           VARCHAR NOT NULL,  -- Uplynk GUID, 32 lowercase hex
    external_id        VARCHAR,           -- customer id; NULL when Uplynk has none ('')
    title              VARCHAR,           -- Uplynk `desc`
    duration_s         DOUBLE,
    created_at         TIMESTAMPTZ,
    lastmod_at         TIMESTAMPTZ,
    deleted_at         TIMESTAMPTZ,       -- NULL while the asset exists
    autoexpire_at      TIMESTAMPTZ,       -- Uplynk deletes the asset after this; NULL = never
    state              VARCHAR,           -- ready, slicing, failed, ...
    job_type           VARCHAR,           -- vod, live
    meta               JSON,              -- free key-value metadata, keys sorted
    mp4_url            VARCHAR,
    thumb_url          VARCHAR,
    delete_detected_by VARCHAR            -- 'feed' (a delete change) or 'reconcile' (full listing)
);

CREATE TABLE IF NOT EXISTS raw.uplynk_changes (
    change_ts TIMESTAMPTZ NOT NULL,
    action    VARCHAR NOT NULL,           -- the feed's action word: update, delete, create, ...
    asset_id  VARCHAR NOT NULL
);

-- Scratch set of the asset ids a full listing has returned so far (survives a crash so a
-- listing resumes where it stopped); emptied when a listing starts and when it ends.
CREATE TABLE IF NOT EXISTS meta.uplynk_listing_seen (
    asset_id VARCHAR NOT NULL
);
