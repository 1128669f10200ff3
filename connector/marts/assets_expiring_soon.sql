-- marts.assets_expiring_soon  (and the table macro marts.expiring_within(days))
-- One row per record, in any system, whose end is in sight: an IBM `at_given_time` expiry,
-- an Uplynk `autoexpire`, or a VALT retention end, within 14 days (the view) or any horizon
-- (`SELECT * FROM marts.expiring_within(30)`), not yet passed.
-- Grain: (system, system_id). Columns: the canonical asset (core.asset_xref; NULL before
-- the first reconcile run), which system ends it and when, days left, the other systems
-- where the same content is live (also_live_in), whether IRIS still recommends it (its
-- IRIS member is in a live seed's latest recommendations), whether it is protected (IBM:
-- rule set to never by the protect job or requested) or archived (VALT: its videos are in
-- the lake).
-- Sources: raw.uplynk_assets, raw.ibm_expirations + raw.ibm_videos, raw.valt_recordings,
-- core.asset_xref, raw.iris_resolutions + raw.iris_recommendations,
-- meta.ibm_protect_actions + meta.ibm_protect_requests, meta.valt_archive.
-- Caveats: "now" is the database clock at query time; an IBM expiry is as fresh as its last
-- check, a VALT retention as fresh as its last details read.
CREATE OR REPLACE MACRO marts.expiring_within(days) AS TABLE
WITH ends AS (
    SELECT 'uplynk' AS system, asset_id AS system_id, title, autoexpire_at AS ends_at,
           'uplynk_autoexpire' AS ended_by
    FROM raw.uplynk_assets
    WHERE deleted_at IS NULL AND autoexpire_at > now()
      AND autoexpire_at <= now() + to_days(CAST(days AS INTEGER))
    UNION ALL
    SELECT 'ibm', e.video_id, v.title, e.expires_at, 'ibm_expiration'
    FROM raw.ibm_expirations AS e JOIN raw.ibm_videos AS v USING (video_id)
    WHERE v.removed_at IS NULL AND e.rule = 'at_given_time' AND e.expires_at > now()
      AND e.expires_at <= now() + to_days(CAST(days AS INTEGER))
    UNION ALL
    SELECT 'valt', record_id, name, retention_until, 'valt_retention'
    FROM raw.valt_recordings
    WHERE removed_at IS NULL AND retention_until > now()
      AND retention_until <= now() + to_days(CAST(days AS INTEGER))
),
live AS (
    SELECT 'uplynk' AS system, asset_id AS system_id FROM raw.uplynk_assets
    WHERE deleted_at IS NULL
    UNION ALL SELECT 'ibm', video_id FROM raw.ibm_videos WHERE removed_at IS NULL
    UNION ALL SELECT 'valt', record_id FROM raw.valt_recordings WHERE removed_at IS NULL
    UNION ALL SELECT 'iris', iris_id FROM raw.iris_assets
),
recommended AS (
    SELECT DISTINCT r.recommended_iris_id AS iris_id
    FROM raw.iris_resolutions AS s
    JOIN raw.iris_recommendations AS r
      ON r.seed_platform_id = s.platform_id AND r.fetched_at = s.watched_at
),
protected AS (
    SELECT video_id FROM meta.ibm_protect_actions
    WHERE NOT dry_run AND result IN ('set', 'already_never')
    UNION SELECT video_id FROM meta.ibm_protect_requests
),
archived AS (
    SELECT DISTINCT record_id FROM meta.valt_archive WHERE result = 'archived'
)
SELECT
    x.canonical_id,
    e.system,
    e.system_id,
    e.title,
    e.ended_by,
    e.ends_at,
    round((epoch(e.ends_at) - epoch(now())) / 86400, 2) AS days_left,
    (SELECT string_agg(DISTINCT o.system, ',' ORDER BY o.system)
     FROM core.asset_xref AS o JOIN live AS l USING (system, system_id)
     WHERE o.canonical_id = x.canonical_id AND o.system <> e.system) AS also_live_in,
    coalesce((SELECT bool_or(o.system_id IN (SELECT iris_id FROM recommended))
              FROM core.asset_xref AS o
              WHERE o.canonical_id = x.canonical_id AND o.system = 'iris'), false)
        AS iris_recommends,
    e.system = 'ibm' AND e.system_id IN (SELECT video_id FROM protected) AS protected,
    e.system = 'valt' AND e.system_id IN (SELECT record_id FROM archived) AS archived
FROM ends AS e
LEFT JOIN core.asset_xref AS x ON x.system = e.system AND x.system_id = e.system_id
ORDER BY e.ends_at, e.system, e.system_id;

CREATE OR REPLACE VIEW marts.assets_expiring_soon AS
SELECT * FROM marts.expiring_within(14);
