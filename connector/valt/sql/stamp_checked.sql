-- Recordings whose details answered 200 (`checked`: record_id) at $ts: details_checked_at
-- and last_seen_at = $ts, first_seen_at set once, removed_at cleared (it came back).
-- Run AFTER the upsert of their rows.
UPDATE raw.valt_recordings AS r
SET details_checked_at = $ts, last_seen_at = $ts,
    first_seen_at = coalesce(r.first_seen_at, $ts), removed_at = NULL
FROM checked AS c
WHERE r.record_id = c.record_id
