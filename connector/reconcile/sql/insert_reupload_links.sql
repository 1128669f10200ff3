-- Links of re-upload rule $rule: two records of $system that are one upload made twice: the
-- same first word and numbers in their normalised titles (a series and its episode code;
-- the rest of a title may have been edited since) and the same duration to the millisecond
-- (a duration without a fraction of a second is not enough: whole-second lengths repeat).
-- Each record is linked to the smallest of its re-uploads (the cluster then holds them all).
INSERT INTO meta.xref_links (left_system, left_id, right_system, right_id, rule, confidence)
WITH r AS (
    SELECT system_id, first_token, nums, round(duration_s, 3) AS ms
    FROM meta.xref_records
    WHERE system = $system AND duration_s IS NOT NULL AND duration_s <> floor(duration_s)
      AND nums <> '' AND first_token <> ''
), grouped AS (
    SELECT system_id, min(system_id) OVER (PARTITION BY first_token, nums, ms) AS first_id
    FROM r
)
SELECT $system, first_id, $system, system_id, $rule, 1.0
FROM grouped WHERE system_id <> first_id
