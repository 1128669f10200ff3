-- Remove the core.asset_xref rows that differ from xref_next (or whose record is gone);
-- xref_insert.sql writes them anew with linked_at = now.
DELETE FROM core.asset_xref AS x
WHERE NOT EXISTS (SELECT 1 FROM xref_next AS n
                  WHERE n.system = x.system AND n.system_id = x.system_id
                    AND n.canonical_id = x.canonical_id AND n.rule = x.rule
                    AND n.confidence IS NOT DISTINCT FROM x.confidence)
