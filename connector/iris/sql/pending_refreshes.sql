-- Refreshes a previous run sent without recording their answer (it died in between):
-- one row per IRIS_ID, the earliest intent first.
SELECT iris_id, epoch_ms(min(requested_at)) AS requested_ms, any_value(run_id) AS run_id
FROM meta.iris_refresh_pending
GROUP BY iris_id
ORDER BY iris_id
