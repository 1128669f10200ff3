-- Append to raw.ibm_expiration_history one row per video of `checked` (new expiration
-- rows: video_id, rule, expires_at, check_status, checked_at) whose rule, expiry or
-- status differs from the stored one (or that was never stored). Run BEFORE the upsert.
INSERT INTO raw.ibm_expiration_history
SELECT b.video_id, b.checked_at, b.rule, b.expires_at, b.check_status,
       e.rule, e.expires_at, e.check_status, $source, $run_id
FROM (SELECT DISTINCT ON (video_id) * FROM checked) AS b
LEFT JOIN raw.ibm_expirations AS e USING (video_id)
WHERE e.video_id IS NULL
   OR e.rule IS DISTINCT FROM b.rule
   OR e.expires_at IS DISTINCT FROM b.expires_at
   OR e.check_status IS DISTINCT FROM b.check_status
