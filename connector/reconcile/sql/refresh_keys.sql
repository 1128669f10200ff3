-- Key values of the dirty records that still exist, one row per (rule, side) with a value.
-- xref_source as in mark_dirty.sql; its `keys` column lists (rule, side, value) per record.
INSERT INTO meta.xref_keys (rule, side, system, system_id, value)
SELECT k.rule, k.side, system, system_id, k.value
FROM (
    SELECT s.system, s.system_id, unnest(s.keys) AS k FROM xref_source AS s
    SEMI JOIN meta.xref_dirty AS d ON d.system = s.system AND d.system_id = s.system_id
)
WHERE k.value IS NOT NULL AND k.value <> ''
