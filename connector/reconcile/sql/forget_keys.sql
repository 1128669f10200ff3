-- A full re-match (first run, or the rules changed): forget every stored row of meta.xref_keys.
DELETE FROM meta.xref_keys
