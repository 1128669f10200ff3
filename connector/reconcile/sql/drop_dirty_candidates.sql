-- Forget the scored pairs of fuzzy pair $rule that touch a dirty record ($left_system's
-- left_id or $right_system's right_id); add_candidates.sql blocks them again.
DELETE FROM meta.xref_candidates AS c
WHERE c.rule = $rule
  AND (c.left_id IN (SELECT system_id FROM meta.xref_dirty WHERE system = $left_system)
    OR c.right_id IN (SELECT system_id FROM meta.xref_dirty WHERE system = $right_system))
