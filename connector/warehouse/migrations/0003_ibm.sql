-- IBM Video Streaming: the videos of the configured channels, each video's expiration as last
-- checked, the history of observed expiration changes, the protect job's requests and audit
-- trail, and the interim cross-system match used by the protect job.
-- Grain: raw.ibm_videos one row per video_id; raw.ibm_expirations one row per video_id;
-- raw.ibm_expiration_history one row per (video_id, observed_at); meta.ibm_protect_requests
-- one row per (video_id, requested_at); meta.ibm_protect_actions one row per action_id.
-- No PRIMARY KEY constraints (DuckLake has none): keys are kept unique by the warehouse upsert and verified
-- by the ibm asset checks.
CREATE TABLE IF NOT EXISTS raw.ibm_videos (
    video_id       VARCHAR NOT NULL,  -- IBM video id (a numeric string)
    channel_id     VARCHAR,           -- channel whose listing last showed the video
    title          VARCHAR,
    length_s       DOUBLE,            -- IBM `length` (a string of seconds in the API)
    created_at     TIMESTAMPTZ,       -- IBM `created_at` (Unix s)
    added_at       TIMESTAMPTZ,       -- IBM `added_at` (Unix s)
    protect        VARCHAR,           -- IBM `protect` (public, private, ...)
    first_seen_at  TIMESTAMPTZ,       -- first sync whose listing showed the video
    last_seen_at   TIMESTAMPTZ,       -- last sync whose listing showed the video
    missing_since  TIMESTAMPTZ,       -- first COMPLETE listing of its channel that did not show
                                      -- it; NULL while listed (a video that slid between pages
                                      -- of one offset-paged listing is not removed for that)
    removed_at     TIMESTAMPTZ        -- confirmed gone: a second consecutive COMPLETE listing did
                                      -- not show it either; = missing_since (when it left);
                                      -- cleared (NULL) if it comes back
);

CREATE TABLE IF NOT EXISTS raw.ibm_expirations (
    video_id      VARCHAR NOT NULL,
    rule          VARCHAR,            -- never | at_given_time; NULL when the check failed
    expires_at    TIMESTAMPTZ,        -- only for rule = at_given_time
    check_status  VARCHAR NOT NULL,   -- ok | not_found (404) | forbidden | lack_of_ownership (403)
    checked_at    TIMESTAMPTZ NOT NULL  -- when the connector last read (or set) it
);

CREATE TABLE IF NOT EXISTS raw.ibm_expiration_history (
    video_id           VARCHAR NOT NULL,
    observed_at        TIMESTAMPTZ NOT NULL,  -- the check that saw the new values
    rule               VARCHAR,               -- new values ...
    expires_at         TIMESTAMPTZ,
    check_status       VARCHAR,
    prev_rule          VARCHAR,               -- ... and the previous ones (all NULL on the
    prev_expires_at    TIMESTAMPTZ,           --     first observation of a video)
    prev_check_status  VARCHAR,
    source             VARCHAR,               -- sync | protect
    run_id             VARCHAR
);

-- Scratch set of the video ids the current listing of a channel has returned (emptied when
-- a channel's listing starts); removed_at is only set after a COMPLETE listing.
CREATE TABLE IF NOT EXISTS meta.ibm_listing_seen (
    channel_id VARCHAR NOT NULL,
    video_id   VARCHAR NOT NULL
);

-- Videos a user wants kept (rule=never) whatever their expiry: rows are inserted by hand or
-- by tools; the protect job reads them.
CREATE TABLE IF NOT EXISTS meta.ibm_protect_requests (
    video_id      VARCHAR NOT NULL,
    requested_by  VARCHAR,
    requested_at  TIMESTAMPTZ,
    note          VARCHAR
);

-- Audit trail of the protect job: one row per video it acted on (or would have, dry run).
CREATE TABLE IF NOT EXISTS meta.ibm_protect_actions (
    action_id          VARCHAR NOT NULL,   -- run_id + ':' + video_id
    run_id             VARCHAR NOT NULL,
    video_id           VARCHAR NOT NULL,
    rule_before        VARCHAR,            -- as known when the job decided
    expires_at_before  TIMESTAMPTZ,
    rule_after         VARCHAR,            -- never when set (or would be set); else as before
    reason             VARCHAR,            -- expiring_live_elsewhere | requested | both
    dry_run            BOOLEAN NOT NULL,
    result             VARCHAR,            -- would_set | set | already_never | not_found |
                                           -- forbidden | lack_of_ownership | error
    acted_at           TIMESTAMPTZ
);

-- INTERIM cross-system match (a later issue replaces it with core.asset_xref): an IBM video
-- is "live elsewhere" when a live (not deleted) Uplynk asset has the same title after
-- normalisation: lower-case, a trailing "(hd)" / "[hd]" / "(sd)" / "(4k)" / "(uhd)" removed,
-- punctuation replaced by spaces, whitespace collapsed. Misses typos and retitled assets;
-- one IBM video may match several Uplynk assets (one row each).
CREATE OR REPLACE VIEW core.ibm_live_elsewhere AS
WITH ibm AS (
    SELECT video_id,
           trim(regexp_replace(regexp_replace(
               regexp_replace(lower(title), '\s*[\(\[]\s*(hd|sd|4k|uhd)\s*[\)\]]\s*$', ''),
               '[^a-z0-9]+', ' ', 'g'), '\s+', ' ', 'g')) AS norm
    FROM raw.ibm_videos
    WHERE removed_at IS NULL AND title IS NOT NULL
),
uplynk AS (
    SELECT asset_id,
           trim(regexp_replace(regexp_replace(
               regexp_replace(lower(title), '\s*[\(\[]\s*(hd|sd|4k|uhd)\s*[\)\]]\s*$', ''),
               '[^a-z0-9]+', ' ', 'g'), '\s+', ' ', 'g')) AS norm
    FROM raw.uplynk_assets
    WHERE deleted_at IS NULL AND title IS NOT NULL
)
SELECT ibm.video_id, uplynk.asset_id AS uplynk_asset_id
FROM ibm JOIN uplynk ON ibm.norm = uplynk.norm AND ibm.norm <> '';
