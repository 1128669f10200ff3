-- After a COMPLETE listing of $channel: videos already missing from the previous complete
-- listing and absent again are removed (removed_at = when they went missing). Offset
-- paging can let a video slide between two pages once; twice in a row means it is gone.
UPDATE raw.ibm_videos AS v
SET removed_at = v.missing_since
WHERE v.channel_id = $channel AND v.removed_at IS NULL AND v.missing_since IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM meta.ibm_listing_seen AS s
                  WHERE s.channel_id = $channel AND s.video_id = v.video_id)
