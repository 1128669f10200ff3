-- The next page of Uplynk mp4_urls to probe: live assets with an mp4_url, by asset_id after
-- $after (keyset paging keeps memory flat); $limit rows at most.
SELECT asset_id, mp4_url
FROM raw.uplynk_assets
WHERE deleted_at IS NULL AND mp4_url IS NOT NULL AND mp4_url <> '' AND asset_id > $after
ORDER BY asset_id
LIMIT $limit
