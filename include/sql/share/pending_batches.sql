-- Landed batches of one resource that changed core rows and are not yet published.
SELECT l.batch_id
FROM audit.ingest_log AS l
WHERE l.department = :department AND l.resource = :resource
  AND l.status IN ('loaded', 'partial') AND l.rows_loaded > 0 AND l.t_landed IS NOT NULL
  AND NOT EXISTS (
      SELECT 1 FROM audit.publish_log AS p
      WHERE p.department = l.department AND p.resource = l.resource AND p.batch_id = l.batch_id
  )
ORDER BY l.batch_id;
