-- How many of the videos a listing batch (`seen_batch`: channel_id, video_id) shows were
-- marked removed: they came back.
SELECT count(*)
FROM raw.ibm_videos AS v JOIN seen_batch AS s USING (video_id)
WHERE v.removed_at IS NOT NULL
