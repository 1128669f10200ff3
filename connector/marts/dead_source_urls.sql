-- marts.dead_source_urls
-- One row per media URL that is dead now, and whether IRIS still recommends its asset.
-- Grain: (system, asset_id): system 'iris' (asset_id = iris_id, its IRIS source URL) or
-- 'uplynk' (asset_id = Uplynk asset_id, its mp4_url).
-- Dead: the last probe found it gone (404 / 410) or forbidden (403), or it has expired (the
-- probe said so, or its `expires` has passed since: read at query time, no request) and it
-- cannot be refreshed: an IRIS_ID the refresh ledger bars (NOT_AVAILABLE, or a refresh that
-- came back already expired: gave_up), or any Uplynk mp4_url (the connector has no way to
-- refresh one). An expired IRIS URL that may still be refreshed is not dead: the next IRIS
-- sync asks for a new one.
-- Sources: raw.media_url_checks (last probe; written by the IRIS sync for source URLs and by
-- probe_media for mp4_urls), raw.iris_assets, raw.iris_source_url_refreshes (the ledger),
-- raw.uplynk_assets (live assets only), raw.iris_resolutions + raw.iris_recommendations
-- (each live seed's latest snapshot: the rows whose fetched_at is its resolution's
-- watched_at).
-- Caveats: a URL is as fresh as its check (checked_at); NOT_AVAILABLE IRIS assets have no
-- URL and are not listed; an Uplynk asset's iris_id is known only when Watch resolved it.
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
barred AS (
    SELECT iris_id, arg_max(outcome, requested_at) AS ledger_outcome
    FROM raw.iris_source_url_refreshes
    WHERE outcome IN ('not_available', 'gave_up')
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
           b.iris_id IS NULL AS refreshable, b.ledger_outcome
    FROM checks AS c
    LEFT JOIN raw.iris_assets AS a ON a.iris_id = c.asset_id
    LEFT JOIN barred AS b ON b.iris_id = c.asset_id
    WHERE c.system = 'iris'
    UNION ALL
    SELECT 'uplynk', c.asset_id, s.iris_id, c.asset_id, u.external_id, u.title, c.url,
           c.state, c.http_status, c.reason, c.expires_at, c.checked_at,
           false, CAST(NULL AS VARCHAR)
    FROM checks AS c
    JOIN raw.uplynk_assets AS u ON u.asset_id = c.asset_id AND u.deleted_at IS NULL
    LEFT JOIN raw.iris_resolutions AS s ON s.asset_id = c.asset_id
    WHERE c.system = 'uplynk'
)
SELECT
    d.system,
    d.asset_id,
    d.iris_id,
    d.uplynk_asset_id,
    d.platform_id,
    d.title,
    d.url,                                  -- token removed
    CASE
        WHEN d.state = 'gone' THEN 'gone (' || d.http_status || ')'
        WHEN d.state = 'forbidden' THEN 'forbidden (' || d.http_status || ')'
        WHEN d.system = 'iris' THEN 'expired, not refreshable (' || d.ledger_outcome || ')'
        ELSE 'expired (no refresh for ' || d.system || ' URLs)'
    END                                     AS dead_because,
    d.http_status,
    d.reason,
    d.expires_at,
    d.checked_at,
    coalesce(l.recommending_seeds, 0) > 0   AS still_recommended,
    coalesce(l.recommending_seeds, 0)       AS recommending_seeds
FROM urls AS d
LEFT JOIN latest_recommendations AS l ON l.iris_id = d.iris_id
WHERE d.state IN ('gone', 'forbidden')
   OR (d.state = 'expired' AND NOT d.refreshable)
