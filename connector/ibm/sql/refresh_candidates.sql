-- Every IBM video not removed, with its stored expiration (NULLs when never checked):
-- the input of the refresh policy (connector/ibm/policy.py).
SELECT v.video_id, e.rule, epoch_ms(e.expires_at) AS expires_at_ms,
       epoch_ms(e.checked_at) AS checked_at_ms
FROM raw.ibm_videos AS v LEFT JOIN raw.ibm_expirations AS e USING (video_id)
WHERE v.removed_at IS NULL
