-- Scratch: what core.asset_xref should hold now, one row per record. Canonical ids are stable:
-- an existing id stays with the cluster holding most of its members (ties: smallest label),
-- and a cluster keeps the existing id most of its members hold, so a member joining never
-- renames a cluster and a re-run changes nothing. A cluster with no existing id gets
-- 'cx_' + md5(its smallest record)[:16] ($run_id is mixed in if that id is taken). A member's
-- rule is its strongest link: key rules before fuzzy links, then by confidence. `labels`
-- (system, system_id, label): every linked record's cluster label, from clusters.py.
CREATE OR REPLACE TEMP TABLE xref_next AS
WITH members AS (
    SELECT r.system, r.system_id,
           coalesce(c.label, r.system || ':' || r.system_id) AS label,
           x.canonical_id AS old_id
    FROM meta.xref_records AS r
    LEFT JOIN labels AS c ON c.system = r.system AND c.system_id = r.system_id
    LEFT JOIN core.asset_xref AS x ON x.system = r.system AND x.system_id = r.system_id
), votes AS (
    SELECT old_id, label, count(*) AS n FROM members WHERE old_id IS NOT NULL GROUP BY ALL
), kept AS (
    SELECT * FROM votes
    QUALIFY row_number() OVER (PARTITION BY old_id ORDER BY n DESC, label) = 1
), chosen AS (
    SELECT label, old_id AS canonical_id FROM kept
    QUALIFY row_number() OVER (PARTITION BY label ORDER BY n DESC, old_id) = 1
), fresh AS (
    SELECT DISTINCT label, 'cx_' || substr(md5(label), 1, 16) AS cid
    FROM members WHERE label NOT IN (SELECT label FROM chosen)
), ids AS (
    SELECT label, canonical_id FROM chosen
    UNION ALL
    SELECT label, CASE WHEN cid IN (SELECT old_id FROM votes)
                       THEN 'cx_' || substr(md5(label || '#' || $run_id), 1, 16)
                       ELSE cid END
    FROM fresh
), ends AS (
    SELECT left_system AS system, left_id AS system_id, rule, confidence FROM meta.xref_links
    UNION ALL
    SELECT right_system, right_id, rule, confidence FROM meta.xref_links
), strongest AS (
    SELECT * FROM ends
    QUALIFY row_number() OVER (
        PARTITION BY system, system_id
        ORDER BY (rule LIKE 'fuzzy:%' OR rule LIKE 'duplicate:%'), confidence DESC, rule) = 1
)
SELECT m.system, m.system_id, i.canonical_id, coalesce(s.rule, 'self') AS rule,
       coalesce(s.confidence, 1.0) AS confidence
FROM members AS m
JOIN ids AS i USING (label)
LEFT JOIN strongest AS s ON s.system = m.system AND s.system_id = m.system_id
