-- Links of key rule $rule ($left_system.left_id = $right_system.right_id by value): a value
-- held by several records on a side that may not hold several ($many: none | left | right)
-- links nothing (insert_key_conflicts.sql records it).
INSERT INTO meta.xref_links (left_system, left_id, right_system, right_id, rule, confidence)
WITH counted AS (
    SELECT *, count(DISTINCT left_id) OVER (PARTITION BY value) AS n_left,
              count(DISTINCT right_id) OVER (PARTITION BY value) AS n_right
    FROM meta.xref_key_links WHERE rule = $rule
)
SELECT DISTINCT $left_system, left_id, $right_system, right_id, $rule, 1.0
FROM counted
WHERE (n_left = 1 OR $many = 'left') AND (n_right = 1 OR $many = 'right')
