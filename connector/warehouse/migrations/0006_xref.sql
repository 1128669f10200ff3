-- 0006_xref: cross-system identity (connector/reconcile). Which Uplynk asset, IBM video, VALT
-- recording and IRIS id are the same content.
-- Grain and key: core.asset_xref one row per (system, system_id), every record of every system
-- present (a record matched to nothing is a cluster of one); core.xref_conflicts one row per
-- (system, system_id, rule) left undecided; meta.xref_records one row per (system, system_id);
-- meta.xref_keys one row per (rule, side, system, system_id); meta.xref_key_links and
-- meta.xref_candidates one row per (rule, left_id, right_id); meta.xref_links one row per
-- (left_system, left_id, right_system, right_id); meta.xref_dirty one row per (system, system_id).
-- No PRIMARY KEY constraints (DuckLake has none): the reconcile run keeps keys unique.
CREATE TABLE IF NOT EXISTS core.asset_xref (
    canonical_id  VARCHAR NOT NULL,   -- the content's id ('cx_' + 16 hex); stable: a member joining
                                      -- never renames it, a re-run never changes it
    system        VARCHAR NOT NULL,   -- uplynk | ibm | valt | iris
    system_id     VARCHAR NOT NULL,   -- the record's id in that system (asset_id, video_id,
                                      -- record_id, iris_id), as text
    rule          VARCHAR NOT NULL,   -- how the record is tied to its cluster: a key rule's name
                                      -- (rules.toml), 'fuzzy:<pair>' (title, duration, dates),
                                      -- 'duplicate:<pair>' (a re-upload of a matched record) or
                                      -- 'self' (matched to nothing)
    confidence    DOUBLE,             -- 1.0 for key rules and 'self'; the match probability of the
                                      -- strongest fuzzy link otherwise
    linked_at     TIMESTAMPTZ         -- when this row last changed (canonical id, rule or confidence)
);

CREATE TABLE IF NOT EXISTS core.xref_conflicts (
    system          VARCHAR NOT NULL, -- the record that could not be decided
    system_id       VARCHAR NOT NULL,
    rule            VARCHAR NOT NULL, -- the key rule or fuzzy pair that found the candidates
    candidate_system VARCHAR,         -- the system the candidates belong to
    candidate_a     VARCHAR,          -- the best candidate's id
    score_a         DOUBLE,           -- its score (key rules: 1.0; fuzzy: log-odds, see rules.toml)
    candidate_b     VARCHAR,          -- the runner-up (or the other claimant of candidate_a)
    score_b         DOUBLE,           -- its score
    reason          VARCHAR,          -- ambiguous (scores within the margin) | shared_key (a key
                                      -- value held by several records where the rule allows one) |
                                      -- contested (one candidate claimed by two records)
    detected_at     TIMESTAMPTZ       -- the run that found it (rows are rewritten every run)
);

-- The match-relevant fields of every record, normalised, with a fingerprint of what they were
-- built from: a changed fingerprint makes the record dirty (re-matched).
CREATE TABLE IF NOT EXISTS meta.xref_records (
    system       VARCHAR NOT NULL,
    system_id    VARCHAR NOT NULL,
    norm_title   VARCHAR,             -- lower case, punctuation to spaces, noise suffixes removed
    nums         VARCHAR,             -- the numbers in the title, leading zeros dropped ('1 2')
    first_token  VARCHAR,             -- first word of norm_title (a blocking key)
    last_token   VARCHAR,             -- last word of norm_title (a blocking key)
    duration_s   DOUBLE,
    created_at   TIMESTAMPTZ,
    fingerprint  VARCHAR              -- md5 of the source fields (title, duration, date, key fields)
);

-- Records new, changed or gone since the last complete run (emptied when a run completes, so
-- a run that dies leaves them dirty for the next).
CREATE TABLE IF NOT EXISTS meta.xref_dirty (
    system     VARCHAR NOT NULL,
    system_id  VARCHAR NOT NULL
);

-- Normalised key values per key rule and side (rules.toml [[key]]).
CREATE TABLE IF NOT EXISTS meta.xref_keys (
    rule       VARCHAR NOT NULL,
    side       VARCHAR NOT NULL,      -- left | right
    system     VARCHAR NOT NULL,
    system_id  VARCHAR NOT NULL,
    value      VARCHAR NOT NULL
);

-- Pairs that share a key value (before the one-to-one check).
CREATE TABLE IF NOT EXISTS meta.xref_key_links (
    rule       VARCHAR NOT NULL,
    left_id    VARCHAR NOT NULL,
    right_id   VARCHAR NOT NULL,
    value      VARCHAR
);

-- Scored candidate pairs of the fuzzy matcher (rules.toml [[fuzzy]]), kept between runs so only
-- pairs touching dirty records are scored again.
CREATE TABLE IF NOT EXISTS meta.xref_candidates (
    rule         VARCHAR NOT NULL,
    left_id      VARCHAR NOT NULL,
    right_id     VARCHAR NOT NULL,
    score        DOUBLE,              -- log-odds (sum of the comparison weights)
    title_match  BOOLEAN,             -- normalised titles equal or one typo apart (similarity
                                      -- >= title_typo_min): with close durations, re-upload grade
    duration_gap DOUBLE               -- |duration difference| in seconds (NULL if one is unknown)
);

-- Accepted pairwise links (the edges the clusters are built from).
CREATE TABLE IF NOT EXISTS meta.xref_links (
    left_system   VARCHAR NOT NULL,
    left_id       VARCHAR NOT NULL,
    right_system  VARCHAR NOT NULL,
    right_id      VARCHAR NOT NULL,
    rule          VARCHAR NOT NULL,
    confidence    DOUBLE
);

-- Scratch: cluster label per linked record, while a run computes the clusters.
CREATE TABLE IF NOT EXISTS meta.xref_components (
    node   VARCHAR NOT NULL,          -- system || ':' || system_id
    label  VARCHAR NOT NULL           -- smallest node of its cluster once converged
);
