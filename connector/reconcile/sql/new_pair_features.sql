-- The new candidate pairs (xref_new_pairs: $left_system records against $right_system
-- records) with what the scorer compares: both normalised titles, numbers and first words,
-- duration and date gaps. Read as a stream of Arrow batches (fuzzy.py scores each batch at once).
SELECT p.left_id, p.right_id, l.norm_title AS left_title, r.norm_title AS right_title,
       l.nums = r.nums AS nums_agree, l.nums = '' AND r.nums = '' AS no_nums,
       coalesce(l.first_token = r.first_token, false) AS first_agree,
       abs(l.duration_s - r.duration_s) AS duration_gap,
       abs(epoch(l.created_at) - epoch(r.created_at)) / 3600.0 AS created_gap_h
FROM xref_new_pairs AS p
JOIN meta.xref_records AS l ON l.system = $left_system AND l.system_id = p.left_id
JOIN meta.xref_records AS r ON r.system = $right_system AND r.system_id = p.right_id
