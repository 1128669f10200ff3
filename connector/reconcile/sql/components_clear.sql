-- Empty meta.xref_components: cluster labels now pass from clusters.py to xref_next.sql as
-- an Arrow table; the table (migration 0006) only held earlier versions' scratch labels.
DELETE FROM meta.xref_components
