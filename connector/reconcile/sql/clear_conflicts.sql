-- Every run records the conflicts it finds again.
DELETE FROM core.xref_conflicts
