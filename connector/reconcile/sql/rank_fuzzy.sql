-- Scratch for fuzzy pair $rule: its candidates scoring at least $threshold, ranked per left
-- record (best first), leaving out right records a key rule already ties to a $left_system
-- record and re-uploads (a group of re-uploads is one candidate: its first record, the
-- others join it by their reupload: link); left_keyed: the left record has a key link to
-- $right_system already (it may then only gain re-uploads). dup_grade: titles equal or a typo apart, durations within $dup_s.
CREATE OR REPLACE TEMP TABLE xref_ranked AS
WITH keyed AS (
    SELECT left_id AS l, right_id AS r FROM meta.xref_links
    WHERE left_system = $left_system AND right_system = $right_system
    UNION ALL
    SELECT right_id, left_id FROM meta.xref_links
    WHERE left_system = $right_system AND right_system = $left_system
), c AS (
    SELECT c.left_id, c.right_id, c.score,
           coalesce(c.title_match AND c.duration_gap <= $dup_s, false) AS dup_grade,
           c.left_id IN (SELECT l FROM keyed) AS left_keyed
    FROM meta.xref_candidates AS c
    WHERE c.rule = $rule AND c.score >= $threshold
      AND c.right_id NOT IN (SELECT r FROM keyed)
      AND c.right_id NOT IN (SELECT right_id FROM meta.xref_links  -- a re-upload competes as
                             WHERE rule LIKE 'reupload:%'         -- its group's first record
                               AND right_system = $right_system)
)
SELECT *, row_number() OVER w AS rn, lead(score) OVER w AS next_score,
       lead(right_id) OVER w AS next_id, lead(dup_grade) OVER w AS next_dup_grade
FROM c
WINDOW w AS (PARTITION BY left_id ORDER BY score DESC, right_id)
