-- The input of the details policy (connector/valt/policy.py): every due recording and
-- every stored recording not removed, with its due reason (NULL when not due), its stored
-- retention_until and details_checked_at as epoch ms (NULL when unknown).
SELECT coalesce(d.record_id, r.record_id) AS record_id,
       d.reason AS due,
       epoch_ms(r.retention_until) AS retention_until_ms,
       epoch_ms(r.details_checked_at) AS checked_at_ms
FROM raw.valt_recordings AS r FULL OUTER JOIN meta.valt_details_due AS d USING (record_id)
WHERE d.record_id IS NOT NULL OR r.removed_at IS NULL
