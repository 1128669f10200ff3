-- Forget the normalised rows of the dirty records (refresh_records.sql writes them again).
DELETE FROM meta.xref_records AS r
USING meta.xref_dirty AS d
WHERE r.system = d.system AND r.system_id = d.system_id
