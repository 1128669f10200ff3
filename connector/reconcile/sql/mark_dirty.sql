-- Records new, changed or gone since the last run: their fingerprint differs from the one
-- meta.xref_records holds. xref_source: the present systems' rows (system, system_id,
-- fingerprint, ...; a temp table built from rules.toml by records.py).
INSERT INTO meta.xref_dirty (system, system_id)
SELECT coalesce(s.system, r.system), coalesce(s.system_id, r.system_id)
FROM xref_source AS s
FULL OUTER JOIN meta.xref_records AS r ON r.system = s.system AND r.system_id = s.system_id
WHERE s.fingerprint IS DISTINCT FROM r.fingerprint
  AND NOT EXISTS (SELECT 1 FROM meta.xref_dirty AS d
                  WHERE d.system = coalesce(s.system, r.system)
                    AND d.system_id = coalesce(s.system_id, r.system_id))
