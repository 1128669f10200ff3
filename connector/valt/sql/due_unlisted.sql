-- After a COMPLETE sweep: stored recordings not removed that it did not show become due
-- for a details re-check (reason unlisted; a 404 then marks them removed). $ts: the
-- sweep's "now". Returns the number of rows inserted.
INSERT INTO meta.valt_details_due (record_id, reason, listed_hash, due_since)
SELECT r.record_id, 'unlisted', NULL, $ts
FROM raw.valt_recordings AS r
WHERE r.removed_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM meta.valt_listing_seen AS s WHERE s.record_id = r.record_id)
  AND NOT EXISTS (SELECT 1 FROM meta.valt_details_due AS d WHERE d.record_id = r.record_id)
