-- Forget the previous run's cluster labels.
DELETE FROM meta.xref_components
