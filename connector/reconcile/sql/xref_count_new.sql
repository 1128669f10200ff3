-- How many records get their first core.asset_xref row now.
SELECT count(*) FROM xref_next AS n
WHERE NOT EXISTS (SELECT 1 FROM core.asset_xref AS x
                  WHERE x.system = n.system AND x.system_id = n.system_id)
