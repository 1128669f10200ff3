-- A full re-match (first run, or the rules changed): forget every stored row of meta.xref_candidates.
DELETE FROM meta.xref_candidates
