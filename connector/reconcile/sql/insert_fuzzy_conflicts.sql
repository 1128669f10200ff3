-- Conflicts of fuzzy pair $rule: a left record whose two best candidates score within $margin
-- (ambiguous), and a right record two left records claim within $margin (contested).
INSERT INTO core.xref_conflicts
SELECT $left_system, left_id, $rule, $right_system, right_id, score, next_id, next_score,
       'ambiguous', $now
FROM xref_ranked
WHERE rn = 1 AND NOT left_keyed AND next_score IS NOT NULL AND score - next_score < $margin
  AND NOT ($many = 'right' AND dup_grade AND next_dup_grade)
UNION ALL
SELECT $right_system, right_id, $rule, $left_system, left_id, score, runner_up_id, runner_up,
       'contested', $now
FROM xref_claimed
WHERE crn = 1 AND runner_up IS NOT NULL AND score - runner_up < $margin
