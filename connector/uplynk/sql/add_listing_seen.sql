-- Ids the listing in progress returned in this checkpoint. Appended as they come: pages
-- overlap, so an id can be here twice, which the ANTI JOIN that reads this table (and
-- only it) does not mind; de-duplicating against the whole table on every checkpoint
-- cost a scan of up to 1M ids each time.
INSERT INTO meta.uplynk_listing_seen SELECT asset_id FROM seen
