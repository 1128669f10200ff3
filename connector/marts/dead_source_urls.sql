-- marts.dead_source_urls
-- One row per media URL that does not play now: its system, canonical asset, the URL with
-- its token removed, why (reason), since when, when it was last checked, the refresh state,
-- and whether IRIS still recommends its asset.
-- Grain: (system, asset_id): system 'iris' (asset_id = iris_id, its IRIS source URL) or
-- 'uplynk' (asset_id = Uplynk asset_id, its mp4_url).
-- reason, one of:
--   '404' / '410'      the last probe found it gone;           dead_since: first such probe
--   '403'              the last probe was refused (forbidden); dead_since: likewise
--   'timeout'          the last probe had no answer in time;   dead_since: likewise
--   'expired token'    its `expires` has passed (the probe said so, or read at query time)
--                      and it cannot be refreshed: any Uplynk mp4_url (the connector has no
--                      way to refresh one);                    dead_since: expires_at
--   'refresh gave up'  an expired IRIS URL whose refresh came back already expired or was
--                      lost (ledger outcome gave_up);           dead_since: expires_at
--   'NOT_AVAILABLE'    IRIS says the source URL is NOT_AVAILABLE (ledger not_available, or
--                      source_url_state not_available; url is then NULL when IRIS gave none);
--                      dead_since: the ledger's first not_available, else expires_at
-- An expired IRIS URL that may still be refreshed is not dead: the next IRIS sync asks for a
-- new one. A probe that failed otherwise ('error': connection refused, a 5xx) is not listed.
-- dead_because keeps the earlier wording ('gone (404)', 'gone (410)', 'forbidden (403)',
-- 'timeout', 'expired, not refreshable (<ledger outcome>)', 'expired (no refresh for uplynk
-- URLs)', 'NOT_AVAILABLE').
-- refresh_state: iris: 'pending' (a refresh is under way), else the ledger's latest outcome
-- (refreshed | gave_up | not_available | error), else 'never requested'; uplynk: 'not
-- refreshable'.
-- Sources: raw.media_url_checks (last probe; written by the IRIS sync for source URLs and by
-- probe_media for mp4_urls), meta.media_url_dead_streaks (start of each probe-dead streak,
-- recorded when this mart is built: connector/marts/sql/record_dead_streaks.sql),
-- core.asset_xref (canonical_id), raw.iris_assets, raw.iris_source_url_refreshes (the
-- ledger), meta.iris_refresh_pending, raw.uplynk_assets (live assets only),
-- raw.iris_resolutions + raw.iris_recommendations (each live seed's latest snapshot: the rows
-- whose fetched_at is its resolution's watched_at).
-- Caveats: a URL is as fresh as its check (checked_at); dead_since of a probe-dead URL is the
-- first dead probe a build of this mart saw (never earlier than the truth, at worst later);
-- canonical_id is as current as the last reconcile run (NULL for a record it has not seen);
-- an Uplynk asset's iris_id is known only when Watch resolved it.
CREATE OR REPLACE VIEW marts.dead_source_urls AS
WITH latest_recommendations AS (
    SELECT r.recommended_iris_id AS iris_id,
           count(DISTINCT r.seed_platform_id) AS recommending_seeds
    FROM raw.iris_resolutions AS s
    JOIN raw.uplynk_assets AS u ON u.asset_id = s.asset_id AND u.deleted_at IS NULL
    JOIN raw.iris_recommendations AS r
      ON r.seed_platform_id = s.platform_id AND r.fetched_at = s.watched_at
    GROUP BY r.recommended_iris_id
),
ledger AS (
    SELECT iris_id, arg_max(outcome, requested_at) AS latest_outcome,
           min(requested_at) FILTER (WHERE outcome = 'not_available') AS not_available_since,
           arg_max(outcome, requested_at)
               FILTER (WHERE outcome IN ('not_available', 'gave_up')) AS barred_by
    FROM raw.iris_source_url_refreshes
    GROUP BY iris_id
),
checks AS (
    SELECT c.*,
           CASE WHEN c.status = 'live' AND c.expires_at <= now() THEN 'expired'
                ELSE c.status END AS state
    FROM raw.media_url_checks AS c
),
urls AS (
    SELECT 'iris' AS system, c.asset_id, c.asset_id AS iris_id,
           CAST(NULL AS VARCHAR) AS uplynk_asset_id, a.platform_id, a.title, c.url, c.state,
           c.http_status, c.reason, c.expires_at, c.checked_at,
           l.barred_by IS NULL AS refreshable, l.barred_by, l.not_available_since,
           CASE WHEN p.iris_id IS NOT NULL THEN 'pending'
                ELSE coalesce(l.latest_outcome, 'never requested') END AS refresh_state
    FROM checks AS c
    LEFT JOIN raw.iris_assets AS a ON a.iris_id = c.asset_id
    LEFT JOIN ledger AS l ON l.iris_id = c.asset_id
    LEFT JOIN (SELECT DISTINCT iris_id FROM meta.iris_refresh_pending) AS p
           ON p.iris_id = c.asset_id
    WHERE c.system = 'iris'
    UNION ALL
    -- IRIS assets whose source URL is NOT_AVAILABLE and that no probe row covers
    SELECT 'iris', a.iris_id, a.iris_id, NULL, a.platform_id, a.title, a.source_url,
           'not_available', NULL, 'source_url NOT_AVAILABLE', a.source_url_expires_at,
           a.checked_at, false, 'not_available', coalesce(l.not_available_since, a.checked_at),
           CASE WHEN p.iris_id IS NOT NULL THEN 'pending'
                ELSE coalesce(l.latest_outcome, 'never requested') END
    FROM raw.iris_assets AS a
    LEFT JOIN ledger AS l ON l.iris_id = a.iris_id
    LEFT JOIN (SELECT DISTINCT iris_id FROM meta.iris_refresh_pending) AS p
           ON p.iris_id = a.iris_id
    WHERE a.source_url_state = 'not_available'
      AND NOT EXISTS (SELECT 1 FROM raw.media_url_checks AS c
                      WHERE c.system = 'iris' AND c.asset_id = a.iris_id)
    UNION ALL
    SELECT 'uplynk', c.asset_id, s.iris_id, c.asset_id, u.external_id, u.title, c.url,
           c.state, c.http_status, c.reason, c.expires_at, c.checked_at,
           false, CAST(NULL AS VARCHAR), CAST(NULL AS TIMESTAMPTZ), 'not refreshable'
    FROM checks AS c
    JOIN raw.uplynk_assets AS u ON u.asset_id = c.asset_id AND u.deleted_at IS NULL
    LEFT JOIN raw.iris_resolutions AS s ON s.asset_id = c.asset_id
    WHERE c.system = 'uplynk'
),
dead AS (
    SELECT d.*,
           CASE
               WHEN d.state = 'not_available' OR d.barred_by = 'not_available'
                   THEN 'NOT_AVAILABLE'
               WHEN d.state = 'gone' THEN coalesce(CAST(d.http_status AS VARCHAR), 'gone')
               WHEN d.state = 'forbidden' THEN '403'
               WHEN d.state = 'timeout' THEN 'timeout'
               WHEN d.system = 'iris' THEN 'refresh gave up'
               ELSE 'expired token'
           END AS dead_reason
    FROM urls AS d
    WHERE d.state IN ('gone', 'forbidden', 'timeout', 'not_available')
       OR (d.state = 'expired' AND NOT d.refreshable)
)
SELECT
    d.system,
    d.asset_id,
    x.canonical_id,                         -- core.asset_xref; NULL if not reconciled yet
    d.iris_id,
    d.uplynk_asset_id,
    d.platform_id,
    d.title,
    d.url,                                  -- token removed
    d.dead_reason                           AS reason,
    CASE
        WHEN d.state = 'not_available' THEN 'NOT_AVAILABLE'
        WHEN d.state = 'gone' THEN 'gone (' || d.http_status || ')'
        WHEN d.state = 'forbidden' THEN 'forbidden (' || d.http_status || ')'
        WHEN d.state = 'timeout' THEN 'timeout'
        WHEN d.system = 'iris' THEN 'expired, not refreshable (' || d.barred_by || ')'
        ELSE 'expired (no refresh for ' || d.system || ' URLs)'
    END                                     AS dead_because,
    CASE
        WHEN d.dead_reason = 'NOT_AVAILABLE'
            THEN coalesce(d.not_available_since, d.expires_at, d.checked_at)
        WHEN d.state IN ('gone', 'forbidden', 'timeout')
            THEN coalesce(k.dead_since, d.checked_at)
        ELSE coalesce(d.expires_at, d.checked_at)
    END                                     AS dead_since,
    d.checked_at                            AS last_checked_at,
    d.refresh_state,
    d.http_status,
    d.reason                                AS probe_detail,  -- what the probe saw
    d.expires_at,
    d.checked_at,
    coalesce(l.recommending_seeds, 0) > 0   AS still_recommended,
    coalesce(l.recommending_seeds, 0)       AS recommending_seeds
FROM dead AS d
LEFT JOIN core.asset_xref AS x ON x.system = d.system AND x.system_id = d.asset_id
LEFT JOIN meta.media_url_dead_streaks AS k
       ON k.system = d.system AND k.asset_id = d.asset_id AND k.url = d.url
LEFT JOIN latest_recommendations AS l ON l.iris_id = d.iris_id
