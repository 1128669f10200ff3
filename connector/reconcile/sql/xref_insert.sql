-- Write the xref_next rows core.asset_xref lacks, stamped linked_at = $now.
INSERT INTO core.asset_xref (canonical_id, system, system_id, rule, confidence, linked_at)
SELECT n.canonical_id, n.system, n.system_id, n.rule, n.confidence, $now
FROM xref_next AS n
WHERE NOT EXISTS (SELECT 1 FROM core.asset_xref AS x
                  WHERE x.system = n.system AND x.system_id = n.system_id)
