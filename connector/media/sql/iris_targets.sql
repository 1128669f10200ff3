-- The next page of stored IRIS source URLs (token removed, so only their expiry can be read
-- here): IRIS assets with a source_url, by iris_id after $after; $limit rows at most.
SELECT iris_id, source_url
FROM raw.iris_assets
WHERE source_url IS NOT NULL AND iris_id > $after
ORDER BY iris_id
LIMIT $limit
