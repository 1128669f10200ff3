-- Stored recordings a listing page showed (`listed`: record_id, listed_hash) exist: stamp
-- last_seen_at = $ts. A removed one is left for its details to bring back.
UPDATE raw.valt_recordings AS r
SET last_seen_at = $ts
FROM listed AS l
WHERE r.record_id = l.record_id AND r.removed_at IS NULL
