-- The data API walk's candidates: every IRIS_ID known from a resolution (the Watch echo) or
-- a recommendation, with its platform_id (the echo's spelling first) and its last look
-- (NULLs when never read). `changed`: read before, but its source URL has expired or
-- expires before $horizon_ms (epoch ms) while a refresh may still be asked for it, or the
-- last look at its URL failed (timeout, error).
-- $horizon_ms: now plus the expected run interval.
WITH known AS (
    SELECT iris_id, echoed_platform_id AS platform_id, 0 AS pref
    FROM raw.iris_resolutions WHERE iris_id IS NOT NULL
    UNION ALL
    SELECT recommended_iris_id, recommended_platform_id, 1
    FROM raw.iris_recommendations
),
ids AS (
    SELECT iris_id, arg_min(platform_id, pref * 2 + (platform_id IS NULL)::INT) AS platform_id
    FROM known GROUP BY iris_id
),
barred AS (
    SELECT DISTINCT iris_id FROM raw.iris_source_url_refreshes
    WHERE outcome IN ('not_available', 'gave_up')
)
SELECT i.iris_id,
       i.platform_id,
       epoch_ms(a.checked_at) AS checked_ms,
       coalesce(
           (epoch_ms(a.source_url_expires_at) <= $horizon_ms AND b.iris_id IS NULL)
           OR a.source_url_state IN ('timeout', 'error'),
           false) AS changed
FROM ids AS i
LEFT JOIN raw.iris_assets AS a USING (iris_id)
LEFT JOIN barred AS b USING (iris_id)
ORDER BY i.iris_id
