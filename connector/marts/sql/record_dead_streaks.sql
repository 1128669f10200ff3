-- Record the dead streaks of media URLs (meta.media_url_dead_streaks, migration 0008) from
-- the last probes in raw.media_url_checks; run before marts.dead_source_urls is (re)built.
-- Dead by probe: status gone (404/410), forbidden (403) or timeout. A streak whose URL's last
-- probe is not dead any more, or whose asset now has another URL, ends (deleted); the
-- others keep their dead_since and move last_checked_at on; a dead probe without a streak
-- starts one at its checked_at.
DELETE FROM meta.media_url_dead_streaks AS s
WHERE NOT EXISTS (
    SELECT 1 FROM raw.media_url_checks AS c
    WHERE c.system = s.system AND c.asset_id = s.asset_id AND c.url = s.url
      AND c.status IN ('gone', 'forbidden', 'timeout')
);
UPDATE meta.media_url_dead_streaks AS s
SET last_checked_at = c.checked_at
FROM raw.media_url_checks AS c
WHERE c.system = s.system AND c.asset_id = s.asset_id AND c.checked_at > s.last_checked_at;
INSERT INTO meta.media_url_dead_streaks (system, asset_id, url, dead_since, last_checked_at)
SELECT c.system, c.asset_id, c.url, c.checked_at, c.checked_at
FROM raw.media_url_checks AS c
WHERE c.status IN ('gone', 'forbidden', 'timeout')
  AND NOT EXISTS (SELECT 1 FROM meta.media_url_dead_streaks AS s
                  WHERE s.system = c.system AND s.asset_id = c.asset_id);
