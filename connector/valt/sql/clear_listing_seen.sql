-- Forget the ids the previous sweep showed (a sweep starts, or one was just reconciled).
DELETE FROM meta.valt_listing_seen
