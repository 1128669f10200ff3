-- The videos the archive job must hold ($now_ms, $within_ms): those of recordings not
-- removed whose retention_until is at most $within_ms after $now_ms (already passed
-- included: still there, so still worth keeping), soonest first, with the last successful
-- archive of each (path, bytes, sha256; NULLs when never archived).
WITH last_archived AS (
    SELECT DISTINCT ON (record_id, video_id) record_id, video_id, path, bytes, sha256
    FROM meta.valt_archive
    WHERE result = 'archived'
    ORDER BY record_id, video_id, archived_at DESC
)
SELECT v.record_id, v.video_id, epoch_ms(r.retention_until) AS retention_until_ms,
       a.path, a.bytes, a.sha256
FROM raw.valt_videos AS v
JOIN raw.valt_recordings AS r USING (record_id)
LEFT JOIN last_archived AS a USING (record_id, video_id)
WHERE r.removed_at IS NULL AND r.retention_until IS NOT NULL
  AND r.retention_until <= make_timestamptz(($now_ms + $within_ms) * 1000)
ORDER BY r.retention_until, v.record_id, v.video_id
