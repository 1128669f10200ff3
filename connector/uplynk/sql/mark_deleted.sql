-- Tombstones for stored Uplynk assets: set deleted_at / delete_detected_by on assets that
-- are still live. Input `tombstones` (asset_id, deleted_at, delete_detected_by).
UPDATE raw.uplynk_assets AS a
SET deleted_at = t.deleted_at, delete_detected_by = t.delete_detected_by
FROM tombstones AS t
WHERE a.asset_id = t.asset_id AND a.deleted_at IS NULL
