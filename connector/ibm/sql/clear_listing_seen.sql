-- Forget the ids a channel's previous listing returned ($channel): a new listing starts,
-- or a complete one has just been applied.
DELETE FROM meta.ibm_listing_seen WHERE channel_id = $channel
