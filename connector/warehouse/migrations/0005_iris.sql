-- 0005_iris: IRIS.TV id resolution and recommendations, IRIS assets with their source URLs,
-- the source_url refresh ledger, and the media URL checks (IRIS source URLs and Uplynk
-- mp4_urls).
-- Grain and key: raw.iris_resolutions one row per Uplynk asset_id that has an external_id;
-- raw.iris_recommendations one row per (seed_platform_id, fetched_at, rank), append-only
-- snapshots; raw.iris_assets one row per iris_id; raw.iris_source_url_refreshes one row per
-- (iris_id, requested_at), append-only; raw.media_url_checks one row per (system, asset_id);
-- meta.iris_refresh_pending one row per iris_id.
-- No PRIMARY KEY constraints (DuckLake has none): keys are kept unique by the warehouse
-- upsert and the insert-if-new writes. No URL column holds a token: URLs are stored with
-- their secret query parameters removed and their expiry in its own column.
CREATE TABLE IF NOT EXISTS raw.iris_resolutions (
    asset_id            VARCHAR NOT NULL,  -- Uplynk asset id (raw.uplynk_assets.asset_id)
    platform_id         VARCHAR NOT NULL,  -- the Uplynk external_id sent to Watch as platform_id
    iris_id             VARCHAR,           -- IRIS id of the echoed asset; NULL when IRIS did not
                                           -- know the platform_id (default_recs)
    echoed_platform_id  VARCHAR,           -- platform_id of the echo as IRIS spells it (may differ
                                           -- from the one sent: case, prefix, spaces)
    default_recs        BOOLEAN NOT NULL,  -- Watch said default_recs: true (asset unknown to IRIS)
    recommendations     INTEGER NOT NULL,  -- recommendations in that Watch answer (echo excluded)
    uplynk_lastmod_at   TIMESTAMPTZ,       -- the Uplynk asset's lastmod_at when it was resolved; a
                                           -- different lastmod_at makes it "changed" (resolved again)
    watched_at          TIMESTAMPTZ NOT NULL  -- when that Watch answered; = fetched_at of the seed's
                                              -- latest snapshot in raw.iris_recommendations
);

CREATE TABLE IF NOT EXISTS raw.iris_recommendations (
    seed_platform_id         VARCHAR NOT NULL,  -- platform_id the Watch was made for
    rank                     INTEGER NOT NULL,  -- 1 = first recommendation after the echo
    recommended_iris_id      VARCHAR NOT NULL,
    recommended_platform_id  VARCHAR,           -- NULL for an IRIS-only asset
    default_recs             BOOLEAN NOT NULL,  -- the snapshot's recommendations are IRIS's
                                                -- defaults (the seed was unknown to IRIS)
    fetched_at               TIMESTAMPTZ NOT NULL  -- the Watch's answer time, the same on every row
                                                   -- of one snapshot; a seed's latest snapshot is the
                                                   -- one with its latest fetched_at
);

CREATE TABLE IF NOT EXISTS raw.iris_assets (
    iris_id                VARCHAR NOT NULL,
    platform_id            VARCHAR,        -- as Watch echoed or recommended it; NULL if IRIS-only
    title                  VARCHAR,        -- data API `title`
    description            VARCHAR,        -- data API `description`
    source_url             VARCHAR,        -- data API `source_url` (or the URL a refresh gave) with
                                           -- its token removed; NULL when NOT_AVAILABLE or unknown
    source_url_expires_at  TIMESTAMPTZ,    -- the URL's `expires` (Unix s in the URL); NULL if none
    source_url_state       VARCHAR NOT NULL,  -- live | expired | gone | forbidden | timeout |
                                              -- error (as raw.media_url_checks.status) |
                                              -- not_available (source_url NOT_AVAILABLE) |
                                              -- unknown (the data API answered 204)
    thumbnail_url          VARCHAR,        -- token removed
    closed_caption_url     VARCHAR,        -- token removed
    length_s               DOUBLE,         -- data API `length_secs`
    source_keywords        VARCHAR[],      -- data API `source_keywords` (a comma string or a list)
    billing_id             VARCHAR,        -- data API `billing_id`, as text
    checked_at             TIMESTAMPTZ NOT NULL  -- when the data API was last read for it
);

CREATE TABLE IF NOT EXISTS raw.iris_source_url_refreshes (
    iris_id             VARCHAR NOT NULL,
    requested_at        TIMESTAMPTZ NOT NULL,  -- when the refresh was sent (or, not_available,
                                               -- when the ledger recorded it without a request)
    outcome             VARCHAR NOT NULL,      -- refreshed: a URL that is not expired;
                                               -- gave_up: the URL came back already expired, or
                                               -- the answer was lost (transport failure, an
                                               -- unreadable body, a 5xx other than 500/503):
                                               -- never requested again;
                                               -- not_available: source_url NOT_AVAILABLE, never
                                               -- requested; error: an answered 400/404/500/503
                                               -- or other 4xx, retried on a later run
    requested           BOOLEAN NOT NULL,      -- a request was sent (false for not_available)
    http_status         INTEGER,               -- the refresh's answer; NULL without one
    detail              VARCHAR,               -- the vendor's errors, or why the ledger decided
    new_url_expires_at  TIMESTAMPTZ,           -- expiry of the URL the refresh returned
    run_id              VARCHAR                -- the run that wrote the row
);

CREATE TABLE IF NOT EXISTS raw.media_url_checks (
    system       VARCHAR NOT NULL,  -- iris (asset_id = iris_id) | uplynk (asset_id = Uplynk asset_id)
    asset_id     VARCHAR NOT NULL,
    url          VARCHAR NOT NULL,  -- the URL probed, token removed
    status       VARCHAR NOT NULL,  -- live | expired | gone | forbidden | timeout | error
    reason       VARCHAR,           -- what the probe saw, e.g. "HEAD -> 404", "expired at ..."
    http_status  INTEGER,           -- the last answer's status; NULL without one (expiry read
                                    -- from the URL, timeout, connection failure)
    expires_at   TIMESTAMPTZ,       -- expiry read from the URL; NULL if it carries none
    final_url    VARCHAR,           -- where redirects led, token removed; NULL without an answer
    checked_at   TIMESTAMPTZ NOT NULL  -- when the probe ran
);

-- Refreshes sent whose answer is not yet recorded: a row is committed before the request
-- goes out and deleted with the outcome's ledger row. A row left by a run that died in
-- between becomes a gave_up ledger row on the next run: IRIS may have answered with an
-- expired URL, and asking again would break its rule.
CREATE TABLE IF NOT EXISTS meta.iris_refresh_pending (
    iris_id       VARCHAR NOT NULL,
    requested_at  TIMESTAMPTZ NOT NULL,
    run_id        VARCHAR NOT NULL
);
