-- Pairs of key rule $rule (left in $left_system, right in $right_system) that share a value,
-- where at least one side is dirty (the others are still in meta.xref_key_links).
INSERT INTO meta.xref_key_links (rule, left_id, right_id, value)
SELECT l.rule, l.system_id, r.system_id, l.value
FROM meta.xref_keys AS l
JOIN meta.xref_keys AS r ON r.rule = l.rule AND r.value = l.value AND r.side = 'right'
WHERE l.rule = $rule AND l.side = 'left'
  AND (l.system_id IN (SELECT system_id FROM meta.xref_dirty WHERE system = $left_system)
    OR r.system_id IN (SELECT system_id FROM meta.xref_dirty WHERE system = $right_system))
