-- 0001_core: schemas and the warehouse's own bookkeeping tables.
-- Portable SQL: accepted by a DuckDB file and by a DuckLake catalog, so no PRIMARY KEY,
-- UNIQUE, indexes, sequences or defaults. Keys are kept unique by the loader's upsert (insert
-- new rows, delete + insert changed ones) and verified by asset checks.
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS marts;
CREATE SCHEMA IF NOT EXISTS meta;

-- One row per stream (key: stream): the stream's cursor, written in the same transaction
-- as the rows it covers.
CREATE TABLE IF NOT EXISTS meta.sync_state (
    stream      VARCHAR NOT NULL,
    state       JSON,
    updated_at  TIMESTAMPTZ
);

-- Records that failed validation (key: stream, record_id, reason). Payloads are scrubbed of
-- secrets before they get here.
CREATE TABLE IF NOT EXISTS meta.rejects (
    stream       VARCHAR NOT NULL,
    record_id    VARCHAR,
    reason       VARCHAR NOT NULL,
    payload      JSON,
    run_id       VARCHAR,
    rejected_at  TIMESTAMPTZ
);

-- Ledger of immutable Parquet files in the lake (key: path, relative to the lake root).
-- A file without a ledger row is the orphan of a transaction that never committed.
CREATE TABLE IF NOT EXISTS meta.lake_files (
    path        VARCHAR NOT NULL,
    stream      VARCHAR NOT NULL,
    run_id      VARCHAR NOT NULL,
    "rows"      BIGINT,
    bytes       BIGINT,
    created_at  TIMESTAMPTZ
);

-- Run log (key: run_id, stream).
CREATE TABLE IF NOT EXISTS meta.runs (
    run_id         VARCHAR NOT NULL,
    stream         VARCHAR NOT NULL,
    started_at     TIMESTAMPTZ,
    finished_at    TIMESTAMPTZ,
    status         VARCHAR,
    rows_inserted  BIGINT,
    rows_updated   BIGINT,
    rows_deleted   BIGINT,
    rows_rejected  BIGINT,
    cursor_before  JSON,
    cursor_after   JSON,
    requests       BIGINT,
    retries        BIGINT,
    error          VARCHAR
);
