-- The latest ingest runs: one row per Airflow DAG run (department, run_id), or per load
-- when it ran outside Airflow (run_id NULL, e.g. `citydata` CLI), newest first.
SELECT department,
       run_id,
       COUNT(*) AS files,
       SUM(rows_read) AS rows_read,
       SUM(rows_loaded) AS rows_loaded,
       SUM(rows_quarantined) AS rows_quarantined,
       SUM(rows_duplicate) AS rows_duplicate,
       SUM(CASE WHEN status = 'rejected' THEN 1 ELSE 0 END) AS files_rejected,
       SUM(CASE WHEN status = 'partial' THEN 1 ELSE 0 END) AS files_partial,
       MIN(started_at) AS started_at,
       MAX(t_landed) AS t_landed,
       MAX(batch_id) AS last_batch_id
FROM audit.ingest_log
WHERE status <> 'loading'
GROUP BY department, run_id, CASE WHEN run_id IS NULL THEN batch_id END
ORDER BY MAX(batch_id) DESC
LIMIT :limit;
