-- Forget the key values of the dirty records (refresh_keys.sql writes them again).
DELETE FROM meta.xref_keys AS k
USING meta.xref_dirty AS d
WHERE k.system = d.system AND k.system_id = d.system_id
