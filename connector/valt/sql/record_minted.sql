-- Download URLs the archive job minted (`minted`: record_id, video_id, url WITHOUT its
-- token, url_expires_at, minted_at): stored on their video rows.
UPDATE raw.valt_videos AS v
SET url = m.url, url_expires_at = m.url_expires_at, minted_at = m.minted_at
FROM minted AS m
WHERE v.record_id = m.record_id AND v.video_id = m.video_id
