-- Links of fuzzy pair $rule ($name): each right record goes to the left record proposing it
-- when no other proposal comes within $margin. Confidence = 1 / (1 + 2^-score).
INSERT INTO meta.xref_links (left_system, left_id, right_system, right_id, rule, confidence)
SELECT $left_system, left_id, $right_system, right_id, kind || $name,
       1.0 / (1.0 + pow(2.0, -score))
FROM xref_claimed
WHERE crn = 1 AND (runner_up IS NULL OR score - runner_up >= $margin)
