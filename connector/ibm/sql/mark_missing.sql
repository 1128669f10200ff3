-- After a COMPLETE listing of $channel: stored videos it did not show, for the first time,
-- get missing_since = $ts (the next complete listing confirms or clears it).
UPDATE raw.ibm_videos AS v
SET missing_since = $ts
WHERE v.channel_id = $channel AND v.removed_at IS NULL AND v.missing_since IS NULL
  AND NOT EXISTS (SELECT 1 FROM meta.ibm_listing_seen AS s
                  WHERE s.channel_id = $channel AND s.video_id = v.video_id)
