-- Forget the ids a previous listing returned (a new listing starts, or one just finished).
DELETE FROM meta.uplynk_listing_seen
