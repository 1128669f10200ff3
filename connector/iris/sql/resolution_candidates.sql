-- The Watch walk's candidates: every live Uplynk asset with an external_id, with its last
-- resolution (NULLs when never resolved). `changed`: resolved before, but the external_id
-- or the Uplynk lastmod_at differs from what that resolution saw.
SELECT u.asset_id,
       u.external_id,
       epoch_ms(u.lastmod_at) AS lastmod_ms,
       epoch_ms(r.watched_at) AS watched_ms,
       coalesce(r.platform_id IS DISTINCT FROM u.external_id
                OR r.uplynk_lastmod_at IS DISTINCT FROM u.lastmod_at, false) AS changed
FROM raw.uplynk_assets AS u
LEFT JOIN raw.iris_resolutions AS r USING (asset_id)
WHERE u.deleted_at IS NULL AND u.external_id IS NOT NULL
ORDER BY u.asset_id
