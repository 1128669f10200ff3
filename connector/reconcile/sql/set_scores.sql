-- Store the scores of one chunk (`scores`: left_id, right_id, score, title_match,
-- duration_gap) on the candidate pairs of fuzzy pair $rule.
UPDATE meta.xref_candidates AS c
SET score = s.score, title_match = s.title_match, duration_gap = s.duration_gap
FROM scores AS s
WHERE c.rule = $rule AND c.left_id = s.left_id AND c.right_id = s.right_id
