-- A full re-match (first run, or the rules changed): forget every normalised record, so all
-- become dirty; the stored pairs go with them.
DELETE FROM meta.xref_records
