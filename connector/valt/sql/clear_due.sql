-- Recordings whose details were read (200, 404 or rejected: `done`: record_id) are no
-- longer due.
DELETE FROM meta.valt_details_due
WHERE record_id IN (SELECT record_id FROM done)
