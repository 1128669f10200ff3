-- marts.recommendations_to_unplayable
-- One row per IRIS recommendation, in a live seed's latest snapshot, that points at content
-- that cannot play: deleted in Uplynk or removed from IBM/VALT (through core.asset_xref),
-- already past its end (an IBM expiry, Uplynk autoexpire or VALT retention), or whose IRIS
-- source URL is dead (marts.dead_source_urls).
-- Grain: (seed_platform_id, rank). Sources: raw.iris_resolutions, raw.iris_recommendations,
-- core.asset_xref, raw.uplynk_assets, raw.ibm_videos, raw.ibm_expirations,
-- raw.valt_recordings, marts.dead_source_urls.
-- Caveats: as current as the last IRIS sync (its snapshots) and reconcile run; a
-- recommendation of an IRIS-only asset can only be flagged by its URL.
CREATE OR REPLACE VIEW marts.recommendations_to_unplayable AS
WITH latest AS (
    SELECT r.*
    FROM raw.iris_resolutions AS s
    JOIN raw.uplynk_assets AS u ON u.asset_id = s.asset_id AND u.deleted_at IS NULL
    JOIN raw.iris_recommendations AS r
      ON r.seed_platform_id = s.platform_id AND r.fetched_at = s.watched_at
),
member AS (
    SELECT i.system_id AS iris_id, o.system, o.system_id
    FROM core.asset_xref AS i JOIN core.asset_xref AS o USING (canonical_id)
    WHERE i.system = 'iris' AND o.system <> 'iris'
),
gone AS (
    SELECT m.iris_id,
           CASE m.system WHEN 'uplynk' THEN 'deleted in uplynk'
                         WHEN 'ibm' THEN 'removed from ibm' ELSE 'removed from valt' END
               AS reason
    FROM member AS m
    LEFT JOIN raw.uplynk_assets AS u ON m.system = 'uplynk' AND u.asset_id = m.system_id
    LEFT JOIN raw.ibm_videos AS i ON m.system = 'ibm' AND i.video_id = m.system_id
    LEFT JOIN raw.valt_recordings AS v ON m.system = 'valt' AND v.record_id = m.system_id
    WHERE u.deleted_at IS NOT NULL OR i.removed_at IS NOT NULL OR v.removed_at IS NOT NULL
    UNION ALL
    SELECT m.iris_id, 'past its end in ' || m.system
    FROM member AS m
    LEFT JOIN raw.uplynk_assets AS u ON m.system = 'uplynk' AND u.asset_id = m.system_id
    LEFT JOIN raw.ibm_expirations AS e ON m.system = 'ibm' AND e.video_id = m.system_id
    LEFT JOIN raw.valt_recordings AS v ON m.system = 'valt' AND v.record_id = m.system_id
    WHERE u.autoexpire_at <= now()
       OR (e.rule = 'at_given_time' AND e.expires_at <= now())
       OR v.retention_until <= now()
    UNION ALL
    SELECT asset_id, 'dead source url: ' || dead_because
    FROM marts.dead_source_urls WHERE system = 'iris'
)
SELECT l.seed_platform_id, l.rank, l.recommended_iris_id, l.recommended_platform_id,
       string_agg(DISTINCT g.reason, '; ' ORDER BY g.reason) AS why_unplayable,
       l.fetched_at
FROM latest AS l JOIN gone AS g ON g.iris_id = l.recommended_iris_id
GROUP BY ALL
ORDER BY l.seed_platform_id, l.rank;
