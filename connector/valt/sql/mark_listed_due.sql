-- Listed recordings (`listed`: record_id, listed_hash) whose details must be read: not
-- stored yet (new), stored with another listed_hash or marked removed (changed). Those
-- already due are left as they are. $ts: when the listing saw them.
INSERT INTO meta.valt_details_due (record_id, reason, listed_hash, due_since)
SELECT l.record_id,
       CASE WHEN r.record_id IS NULL THEN 'new' ELSE 'changed' END,
       l.listed_hash,
       $ts
FROM listed AS l LEFT JOIN raw.valt_recordings AS r USING (record_id)
WHERE (r.record_id IS NULL
       OR r.listed_hash IS DISTINCT FROM l.listed_hash
       OR r.removed_at IS NOT NULL)
  AND NOT EXISTS (SELECT 1 FROM meta.valt_details_due AS d WHERE d.record_id = l.record_id)
