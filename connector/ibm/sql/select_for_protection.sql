-- The IBM videos the protect job must set to rule=never ($now_ms, $within_ms): live in
-- IBM, stored rule not already `never`, last check not a 403/404, and either expiring
-- within the window while live in another system (core.ibm_live_elsewhere) or requested
-- in meta.ibm_protect_requests. reason: expiring_live_elsewhere | requested | both.
WITH live AS (
    SELECT e.video_id, e.rule, e.expires_at, e.check_status
    FROM raw.ibm_expirations AS e JOIN raw.ibm_videos AS v USING (video_id)
    WHERE v.removed_at IS NULL
),
expiring AS (
    SELECT video_id FROM live
    WHERE check_status = 'ok' AND rule = 'at_given_time'
      AND expires_at > make_timestamptz($now_ms * 1000)
      AND expires_at <= make_timestamptz(($now_ms + $within_ms) * 1000)
      AND video_id IN (SELECT video_id FROM core.ibm_live_elsewhere)
),
requested AS (
    SELECT DISTINCT r.video_id FROM meta.ibm_protect_requests AS r
    JOIN raw.ibm_videos AS v USING (video_id) WHERE v.removed_at IS NULL
),
picked AS (
    SELECT video_id, bool_or(src = 'e') AS by_expiry, bool_or(src = 'r') AS by_request
    FROM (SELECT video_id, 'e' AS src FROM expiring
          UNION ALL SELECT video_id, 'r' AS src FROM requested)
    GROUP BY video_id
)
SELECT p.video_id, l.rule, epoch_ms(l.expires_at) AS expires_at_ms,
       CASE WHEN p.by_expiry AND p.by_request THEN 'both'
            WHEN p.by_expiry THEN 'expiring_live_elsewhere' ELSE 'requested' END AS reason
FROM picked AS p LEFT JOIN live AS l USING (video_id)
WHERE l.rule IS DISTINCT FROM 'never'
  AND coalesce(l.check_status, 'ok') = 'ok'
ORDER BY l.expires_at NULLS LAST, p.video_id
