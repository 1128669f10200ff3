-- Scratch: the candidate pairs of one fuzzy pair found by this run's blocking (left_id,
-- right_id), before they are scored (new_pair_features.sql) and stored (insert_candidates.sql).
CREATE OR REPLACE TEMP TABLE xref_new_pairs (left_id VARCHAR, right_id VARCHAR)
