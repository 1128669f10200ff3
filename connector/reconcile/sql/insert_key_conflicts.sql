-- Conflicts of key rule $rule: a value that several records hold on a side that may hold only
-- one ($many). One row per record on the other side, naming two of the claimants.
INSERT INTO core.xref_conflicts
WITH per_value AS (
    SELECT value, min(left_id) AS left_a, max(left_id) AS left_b,
           min(right_id) AS right_a, max(right_id) AS right_b,
           count(DISTINCT left_id) AS n_left, count(DISTINCT right_id) AS n_right
    FROM meta.xref_key_links WHERE rule = $rule GROUP BY value
), bad AS (
    SELECT * FROM per_value
    WHERE (n_left > 1 AND $many <> 'left') OR (n_right > 1 AND $many <> 'right')
)
SELECT DISTINCT $right_system, k.right_id, $rule, $left_system, b.left_a, 1.0, b.left_b, 1.0,
       'shared_key', $now
FROM bad AS b JOIN meta.xref_key_links AS k ON k.rule = $rule AND k.value = b.value
WHERE b.n_left > 1 AND $many <> 'left'
UNION ALL
SELECT DISTINCT $left_system, k.left_id, $rule, $right_system, b.right_a, 1.0, b.right_b, 1.0,
       'shared_key', $now
FROM bad AS b JOIN meta.xref_key_links AS k ON k.rule = $rule AND k.value = b.value
WHERE b.n_right > 1 AND $many <> 'right'
