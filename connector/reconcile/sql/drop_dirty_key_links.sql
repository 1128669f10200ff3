-- Forget the pairs of key rule $rule that touch a dirty record ($left_system's left_id or
-- $right_system's right_id); refresh_key_links.sql finds them again.
DELETE FROM meta.xref_key_links AS l
WHERE l.rule = $rule
  AND (l.left_id IN (SELECT system_id FROM meta.xref_dirty WHERE system = $left_system)
    OR l.right_id IN (SELECT system_id FROM meta.xref_dirty WHERE system = $right_system))
