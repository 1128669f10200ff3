-- One row per stream that has ever run: its last run (any outcome), its last successful
-- run and its committed cursor. Read by
-- `python -m connector status` (connector/status.py).
WITH last_run AS (
    SELECT DISTINCT ON (stream) stream, run_id, status, started_at, finished_at,
           rows_inserted, rows_updated, rows_deleted, rows_rejected, error
    FROM meta.runs
    ORDER BY stream, started_at DESC
),
last_ok AS (
    SELECT stream, max(finished_at) AS ok_at FROM meta.runs WHERE status = 'ok' GROUP BY stream
)
SELECT r.stream, r.status, r.started_at, r.finished_at, o.ok_at,
       r.rows_inserted, r.rows_updated, r.rows_deleted, r.rows_rejected, r.error,
       CAST(s.state AS VARCHAR) AS state, s.updated_at AS state_at
FROM last_run AS r
LEFT JOIN last_ok AS o USING (stream)
LEFT JOIN meta.sync_state AS s USING (stream)
ORDER BY r.stream
