-- 0004_valt: VALT (IPIVS) recordings, their videos, and the archive job's audit trail.
-- Grain and key: raw.valt_recordings one row per record_id (a recording VALT no longer has
-- keeps its row, with removed_at set); raw.valt_videos one row per (record_id, video_id);
-- meta.valt_archive one row per (run_id, record_id, video_id); meta.valt_listing_seen one
-- row per record_id; meta.valt_details_due one row per record_id.
-- No PRIMARY KEY constraints (DuckLake has none): keys are kept unique by the warehouse
-- upsert and the insert-if-new writes, and verified by the valt asset checks.
CREATE TABLE IF NOT EXISTS raw.valt_recordings (
    record_id           VARCHAR NOT NULL,  -- VALT id as text: a UUID (VALT 6) or digits (VALT 5)
    name                VARCHAR,           -- VALT `name`
    created_at          TIMESTAMPTZ,       -- VALT `created` (Unix s)
    duration_s          DOUBLE,            -- VALT `duration` (seconds)
    author_id           VARCHAR,           -- VALT `author.id`, as text
    author_name         VARCHAR,           -- VALT `author.name`
    room_id             VARCHAR,           -- VALT `room.id`, as text
    room_name           VARCHAR,           -- VALT `room.name`
    retention_type      VARCHAR,           -- VALT `retention.type`: inherit | infinitely | until | for
    retention_until     TIMESTAMPTZ,       -- until: `retention.until`; for: created + days/hours/
                                           -- minutes; NULL for infinitely and inherit (the system
                                           -- policy an inherit follows is not in the API)
    markers_count       INTEGER,           -- number of `markers` in the details
    listed_hash         VARCHAR,           -- digest of the listed fields as the last details showed
                                           -- them; a listing that differs makes the details due
    details_checked_at  TIMESTAMPTZ,       -- when the connector last read the details (200)
    first_seen_at       TIMESTAMPTZ,       -- first time the connector read its details
    last_seen_at        TIMESTAMPTZ,       -- last time a listing showed it or its details answered 200
    removed_at          TIMESTAMPTZ        -- when its details answered 404 (found by a re-check, or
                                           -- by a complete sweep that no longer listed it); NULL
                                           -- while it exists, cleared if it comes back
);

CREATE TABLE IF NOT EXISTS raw.valt_videos (
    record_id       VARCHAR NOT NULL,      -- the recording (raw.valt_recordings.record_id)
    video_id        VARCHAR NOT NULL,      -- VALT video id, as text
    camera          VARCHAR,               -- `videos[].camera` in the details
    duration_s      DOUBLE,                -- `videos[].duration` (seconds)
    url             VARCHAR,               -- last minted download URL WITHOUT its access_token
                                           -- (useless without a new token: VALT mints them); NULL
                                           -- until the archive job mints one
    url_expires_at  TIMESTAMPTZ,           -- `exp` of that URL's JWT token (read, not verified)
    minted_at       TIMESTAMPTZ            -- when that URL was minted
);

-- Audit trail of the archive job: one row per video it acted on (or would have, dry run).
CREATE TABLE IF NOT EXISTS meta.valt_archive (
    run_id       VARCHAR NOT NULL,
    record_id    VARCHAR NOT NULL,
    video_id     VARCHAR NOT NULL,
    path         VARCHAR,                  -- the file, relative to the lake root (POSIX)
    bytes        BIGINT,                   -- its length, checked against Content-Length/-Range
    sha256       VARCHAR,                  -- hex digest of its bytes, computed while streaming
    archived_at  TIMESTAMPTZ,              -- when the job decided (dry run) or finished the file
    dry_run      BOOLEAN NOT NULL,
    result       VARCHAR NOT NULL,         -- would_archive | archived | not_found | failed
    error        VARCHAR                   -- why it failed (redacted), else NULL
);

-- Scratch set of the recording ids the current listing has shown (emptied when a listing
-- starts and after a sweep has been reconciled); a sweep's deletions are the stored
-- recordings it lacks, re-checked with details.
CREATE TABLE IF NOT EXISTS meta.valt_listing_seen (
    record_id VARCHAR NOT NULL
);

-- Recordings whose details must be read: new or changed in a listing, or absent from a
-- complete sweep. Written with the listing's checkpoint and removed with the details'
-- one, so a crash in between loses nothing.
CREATE TABLE IF NOT EXISTS meta.valt_details_due (
    record_id    VARCHAR NOT NULL,
    reason       VARCHAR NOT NULL,         -- new | changed | unlisted
    listed_hash  VARCHAR,                  -- the listing's digest (NULL for unlisted)
    due_since    TIMESTAMPTZ
);
