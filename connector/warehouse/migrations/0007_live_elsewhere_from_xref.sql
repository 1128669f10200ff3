-- 0007: core.ibm_live_elsewhere now reads the cross-system identity (core.asset_xref) instead
-- of the interim normalised-title match of 0003.
-- Grain: one row per (IBM video, live Uplynk asset of the same content). An IBM video is "live
-- elsewhere" when reconciliation put it in one canonical asset with an Uplynk asset that is
-- not deleted. Read by the IBM protect job (connector/ibm/sql/select_for_protection.sql).
-- Caveat: as current as the last reconcile run (python -m connector reconcile, or the
-- core/asset_xref asset).
CREATE OR REPLACE VIEW core.ibm_live_elsewhere AS
SELECT i.system_id AS video_id,           -- IBM video id
       u.system_id AS uplynk_asset_id     -- a live Uplynk asset of the same content
FROM core.asset_xref AS i
JOIN core.asset_xref AS u ON u.canonical_id = i.canonical_id AND u.system = 'uplynk'
JOIN raw.uplynk_assets AS a ON a.asset_id = u.system_id AND a.deleted_at IS NULL
WHERE i.system = 'ibm';
