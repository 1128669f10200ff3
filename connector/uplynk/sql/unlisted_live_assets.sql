-- Stored live assets the full listing in progress did not return: candidates for a
-- deletion the feed has forgotten (each is re-checked with asset/get before tombstoning).
SELECT a.asset_id
FROM raw.uplynk_assets AS a ANTI JOIN meta.uplynk_listing_seen AS s USING (asset_id)
WHERE a.deleted_at IS NULL
