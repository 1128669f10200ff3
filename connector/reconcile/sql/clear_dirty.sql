-- The run is complete: every dirty record has been matched again.
DELETE FROM meta.xref_dirty
