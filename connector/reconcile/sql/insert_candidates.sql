-- Store the scored new pairs of fuzzy pair $rule (`scores`: left_id, right_id, score,
-- title_match, duration_gap; fuzzy.score_table's output) in meta.xref_candidates.
INSERT INTO meta.xref_candidates (rule, left_id, right_id, score, title_match, duration_gap)
SELECT $rule, left_id, right_id, score, title_match, duration_gap FROM scores
