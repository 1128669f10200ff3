-- IRIS_IDs that must never be sent a refresh: IRIS said NOT_AVAILABLE, or a refresh came
-- back already expired (or its answer was lost), per the vendor's rules.
SELECT DISTINCT iris_id
FROM raw.iris_source_url_refreshes
WHERE outcome IN ('not_available', 'gave_up')
