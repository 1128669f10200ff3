-- IRIS_IDs the data API walk has read before (their state is stored). Any other iris_id a
-- Watch echoes is new: the policy reads every new one, so it is read during the Watch walk.
SELECT iris_id FROM raw.iris_assets
