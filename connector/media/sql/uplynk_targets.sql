-- The next page of Uplynk mp4_urls that may need a probe: live assets with an mp4_url, by
-- asset_id after $after (keyset paging keeps memory flat), $limit rows at most, each with
-- its last check (NULLs when never checked). Which of them are probed is the re-check
-- policy's choice (connector/media/run.py, probe_due).
SELECT a.asset_id, a.mp4_url, c.url, c.status, epoch_ms(c.checked_at) AS checked_ms
FROM raw.uplynk_assets AS a
LEFT JOIN raw.media_url_checks AS c ON c.system = 'uplynk' AND c.asset_id = a.asset_id
WHERE a.deleted_at IS NULL AND a.mp4_url IS NOT NULL AND a.mp4_url <> '' AND a.asset_id > $after
ORDER BY a.asset_id
LIMIT $limit
