-- Candidate pairs of fuzzy pair $rule ($left_system records against $right_system records)
-- not yet stored, into the scratch table xref_new_pairs (new_pairs_clear.sql). $restrict:
-- 'left' = only pairs whose left record is dirty, 'right' = whose right record is dirty,
-- 'none' = every pair (a full run). Blocking (never all pairs),
-- any of:
--   B1 the same normalised title (skipped for a title more than $max_block right records share);
--   B2 the same first word and numbers, durations in the same or a neighbouring bucket;
--   B3 the same last word and numbers, durations likewise;
--   B4 created within a day of each other (day buckets), durations likewise;
--   B5 for a left record without a duration: the same first word, last word and numbers.
-- A bucket is floor(duration / $bucket_s).
INSERT INTO xref_new_pairs (left_id, right_id)
WITH dl AS (SELECT system_id FROM meta.xref_dirty WHERE system = $left_system),
dr AS (SELECT system_id FROM meta.xref_dirty WHERE system = $right_system),
l AS (
    SELECT r.*, floor(duration_s / $bucket_s) AS b, floor(epoch(created_at) / 86400) AS day
    FROM meta.xref_records AS r WHERE system = $left_system AND norm_title <> ''
      AND ($restrict <> 'left' OR system_id IN (SELECT system_id FROM dl))
),
r AS (
    SELECT r.*, floor(duration_s / $bucket_s) AS b, floor(epoch(created_at) / 86400) AS day
    FROM meta.xref_records AS r WHERE system = $right_system AND norm_title <> ''
      AND ($restrict <> 'right' OR system_id IN (SELECT system_id FROM dr))
),
common AS (  -- (only the titles both sides of this run hold: a few when few are dirty)
    SELECT norm_title FROM meta.xref_records
    WHERE system = $right_system
      AND norm_title IN (SELECT norm_title FROM l) AND norm_title IN (SELECT norm_title FROM r)
    GROUP BY norm_title HAVING count(*) <= $max_block
),
lx AS (SELECT l.*, unnest([l.b - 1, l.b, l.b + 1]) AS bx FROM l WHERE l.b IS NOT NULL),
lxd AS (SELECT lx.*, unnest([lx.day - 1, lx.day, lx.day + 1]) AS dx FROM lx WHERE lx.day IS NOT NULL),
pairs AS (
    SELECT l.system_id AS left_id, r.system_id AS right_id
    FROM l JOIN r USING (norm_title) SEMI JOIN common USING (norm_title)
    UNION ALL
    SELECT lx.system_id, r.system_id
    FROM lx JOIN r ON r.b = lx.bx AND r.first_token = lx.first_token AND r.nums = lx.nums
    UNION ALL
    SELECT lx.system_id, r.system_id
    FROM lx JOIN r ON r.b = lx.bx AND r.last_token = lx.last_token AND r.nums = lx.nums
    UNION ALL
    SELECT lxd.system_id, r.system_id
    FROM lxd JOIN r ON r.b = lxd.bx AND r.day = lxd.dx
    UNION ALL
    SELECT l.system_id, r.system_id
    FROM l JOIN r ON r.first_token = l.first_token AND r.last_token = l.last_token
                 AND r.nums = l.nums
    WHERE l.b IS NULL
)
SELECT DISTINCT p.left_id, p.right_id FROM pairs AS p
WHERE NOT EXISTS (SELECT 1 FROM meta.xref_candidates AS c
                  WHERE c.rule = $rule AND c.left_id = p.left_id AND c.right_id = p.right_id)
  AND NOT EXISTS (SELECT 1 FROM xref_new_pairs AS n
                  WHERE n.left_id = p.left_id AND n.right_id = p.right_id)
