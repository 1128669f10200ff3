-- Videos of the recordings just read (`checked`: record_id) that their details no longer
-- list (`videos`: record_id, video_id) are deleted.
DELETE FROM raw.valt_videos AS v
WHERE v.record_id IN (SELECT record_id FROM checked)
  AND NOT EXISTS (SELECT 1 FROM videos AS n
                  WHERE n.record_id = v.record_id AND n.video_id = v.video_id)
