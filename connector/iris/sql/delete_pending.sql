-- Settle refresh intents: delete the meta.iris_refresh_pending rows of the IRIS_IDs in
-- `settled` (input: iris_id), whose outcome is written in the same transaction.
DELETE FROM meta.iris_refresh_pending
WHERE iris_id IN (SELECT iris_id FROM settled)
