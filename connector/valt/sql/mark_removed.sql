-- Recordings whose details answered 404 (`gone`: record_id) are removed: removed_at = $ts,
-- once. Returns the number of recordings newly marked.
UPDATE raw.valt_recordings AS r
SET removed_at = $ts
FROM gone AS g
WHERE r.record_id = g.record_id AND r.removed_at IS NULL
