-- How many pairs of fuzzy pair $rule wait for a score.
SELECT count(*) FROM meta.xref_candidates WHERE rule = $rule AND score IS NULL
