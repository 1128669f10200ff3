-- Videos a listing batch (`seen_batch`) shows are present: stamp last_seen_at (and
-- first_seen_at once), and clear missing_since / removed_at.
UPDATE raw.ibm_videos AS v
SET last_seen_at = $ts, first_seen_at = coalesce(v.first_seen_at, $ts),
    removed_at = NULL, missing_since = NULL
FROM seen_batch AS s
WHERE v.video_id = s.video_id
