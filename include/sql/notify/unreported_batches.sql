-- Finished deliveries of a department with something to report (quarantined rows or a
-- rejected file) that no quality report covers yet; the caller adds batches with warnings.
SELECT l.batch_id, l.department, l.resource, l.source_kind, l.source, l.status, l.rows_read, l.rows_loaded,
       l.rows_quarantined, l.rows_duplicate, l.reason, l.run_id, l.started_at, l.t_landed
FROM audit.ingest_log l
WHERE l.department = :department
  AND l.status <> 'loading'
  AND l.started_at >= :since
  AND (l.status = 'rejected' OR l.rows_quarantined > 0 OR l.batch_id IN (SELECT w.batch_id FROM {{warned}} w))
  AND NOT EXISTS (SELECT 1 FROM quality.notified_batches n WHERE n.batch_id = l.batch_id)
ORDER BY l.batch_id;
