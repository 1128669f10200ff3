-- Tombstones for assets never stored (deleted before we saw them): a minimal row, so the
-- deletion is on record. Input `tombstones` (asset_id, deleted_at, delete_detected_by).
INSERT INTO raw.uplynk_assets (asset_id, deleted_at, delete_detected_by)
SELECT t.asset_id, t.deleted_at, t.delete_detected_by
FROM tombstones AS t ANTI JOIN raw.uplynk_assets AS a USING (asset_id)
