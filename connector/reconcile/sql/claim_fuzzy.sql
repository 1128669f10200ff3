-- Scratch for fuzzy pair $rule: what each left record proposes. Its best candidate when that
-- beats the runner-up by $margin (or, where $many = 'right', when both are re-upload grade);
-- plus, where $many = 'right', every other re-upload-grade candidate of a left record that is
-- matched (by this best or by a key). Ranked per right record, for the one-to-one check.
CREATE OR REPLACE TEMP TABLE xref_claimed AS
WITH best AS (
    SELECT * FROM xref_ranked
    WHERE rn = 1 AND NOT left_keyed
      AND (next_score IS NULL OR score - next_score >= $margin
           OR ($many = 'right' AND dup_grade AND next_dup_grade))
), matched AS (
    SELECT left_id FROM best UNION SELECT left_id FROM xref_ranked WHERE left_keyed
), dups AS (
    SELECT * FROM xref_ranked
    WHERE $many = 'right' AND dup_grade AND (rn > 1 OR left_keyed)
      AND left_id IN (SELECT left_id FROM matched)
), proposals AS (
    SELECT left_id, right_id, score, 'fuzzy:' AS kind FROM best
    UNION ALL
    SELECT left_id, right_id, score, 'duplicate:' FROM dups
)
SELECT *, row_number() OVER w AS crn, lead(score) OVER w AS runner_up,
       lead(left_id) OVER w AS runner_up_id
FROM proposals
WINDOW w AS (PARTITION BY right_id ORDER BY score DESC, left_id)
