-- marts.assets_expiring_soon
-- One row per asset (per source system) that will expire within the next 30 days and has
-- not expired yet. Grain: (source, source_id).
-- Sources: raw.uplynk_assets (autoexpire_at: Uplynk deletes the asset then);
--          raw.ibm_expirations (rule at_given_time: IBM deletes the video at expires_at),
--          for videos still listed (raw.ibm_videos.removed_at IS NULL).
-- Caveats: "now" is the database clock at query time; deleted Uplynk assets are excluded;
-- an IBM expiry is as fresh as its last check (raw.ibm_expirations.checked_at); IBM has no
-- external_id.
CREATE OR REPLACE VIEW marts.assets_expiring_soon AS
SELECT
    'uplynk'                                   AS source,
    a.asset_id                                 AS source_id,
    a.external_id,
    a.title,
    a.autoexpire_at                            AS expires_at,
    round((epoch(a.autoexpire_at) - epoch(now())) / 86400, 2) AS days_left
FROM raw.uplynk_assets AS a
WHERE a.deleted_at IS NULL
  AND a.autoexpire_at > now()
  AND a.autoexpire_at <= now() + INTERVAL 30 DAY
UNION ALL
SELECT
    'ibm'                                      AS source,
    e.video_id                                 AS source_id,
    NULL                                       AS external_id,
    v.title,
    e.expires_at,
    round((epoch(e.expires_at) - epoch(now())) / 86400, 2) AS days_left
FROM raw.ibm_expirations AS e
JOIN raw.ibm_videos AS v USING (video_id)
WHERE v.removed_at IS NULL
  AND e.rule = 'at_given_time'
  AND e.expires_at > now()
  AND e.expires_at <= now() + INTERVAL 30 DAY
ORDER BY expires_at;
