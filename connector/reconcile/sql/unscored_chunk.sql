-- One chunk of the unscored pairs of fuzzy pair $rule (hash(left_id) % $chunks = $chunk), with
-- what the scorer compares: both normalised titles and numbers, duration and date gaps.
SELECT c.left_id, c.right_id, l.norm_title AS left_title, r.norm_title AS right_title,
       l.nums = r.nums AS nums_agree, l.nums = '' AND r.nums = '' AS no_nums,
       abs(l.duration_s - r.duration_s) AS duration_gap,
       abs(epoch(l.created_at) - epoch(r.created_at)) / 3600.0 AS created_gap_h
FROM meta.xref_candidates AS c
JOIN meta.xref_records AS l ON l.system = $left_system AND l.system_id = c.left_id
JOIN meta.xref_records AS r ON r.system = $right_system AND r.system_id = c.right_id
WHERE c.rule = $rule AND c.score IS NULL AND hash(c.left_id) % $chunks = $chunk
