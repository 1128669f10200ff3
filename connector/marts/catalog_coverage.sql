-- marts.catalog_coverage
-- One row per canonical asset (core.asset_xref cluster): its state in each of the four
-- systems, and whether it is an orphan: live in one system but deleted or removed in
-- another (for example live in Uplynk, removed from its IBM channel).
-- Grain: canonical_id. States: uplynk live | deleted | absent; ibm live | removed | absent;
-- valt live | removed | absent; iris present | absent (IRIS does not delete ids).
-- Sources: core.asset_xref, raw.uplynk_assets, raw.ibm_videos, raw.valt_recordings,
-- raw.iris_assets.
-- Caveats: an asset is as current as the last sync of each system and the last reconcile
-- run; several records of one system in a cluster (re-uploads) count as live if any is.
CREATE OR REPLACE VIEW marts.catalog_coverage AS
WITH states AS (
    SELECT x.canonical_id, x.system,
           CASE x.system
               WHEN 'uplynk' THEN CASE WHEN u.deleted_at IS NULL THEN 'live' ELSE 'deleted' END
               WHEN 'ibm' THEN CASE WHEN i.removed_at IS NULL THEN 'live' ELSE 'removed' END
               WHEN 'valt' THEN CASE WHEN v.removed_at IS NULL THEN 'live' ELSE 'removed' END
               ELSE 'present'
           END AS state,
           coalesce(u.title, i.title, v.name, r.title) AS title
    FROM core.asset_xref AS x
    LEFT JOIN raw.uplynk_assets AS u ON x.system = 'uplynk' AND u.asset_id = x.system_id
    LEFT JOIN raw.ibm_videos AS i ON x.system = 'ibm' AND i.video_id = x.system_id
    LEFT JOIN raw.valt_recordings AS v ON x.system = 'valt' AND v.record_id = x.system_id
    LEFT JOIN raw.iris_assets AS r ON x.system = 'iris' AND r.iris_id = x.system_id
),
per_system AS (  -- live wins when a cluster holds several records of one system
    SELECT canonical_id, system,
           CASE WHEN bool_or(state IN ('live', 'present')) THEN max(state) FILTER
                (WHERE state IN ('live', 'present')) ELSE max(state) END AS state,
           any_value(title) AS title
    FROM states GROUP BY canonical_id, system
)
SELECT
    canonical_id,
    any_value(title) AS title,
    coalesce(max(state) FILTER (WHERE system = 'uplynk'), 'absent') AS uplynk,
    coalesce(max(state) FILTER (WHERE system = 'ibm'), 'absent') AS ibm,
    coalesce(max(state) FILTER (WHERE system = 'valt'), 'absent') AS valt,
    coalesce(max(state) FILTER (WHERE system = 'iris'), 'absent') AS iris,
    count(*) FILTER (WHERE state IN ('live', 'present')) AS systems_live,
    bool_or(state IN ('live', 'present')) AND bool_or(state IN ('deleted', 'removed'))
        AS orphan
FROM per_system
GROUP BY canonical_id
ORDER BY canonical_id;
