-- Freshness and quality per resource: last landing, rows read and quarantined since a time.
SELECT department, resource, MAX(t_landed) AS last_landed,
       SUM(CASE WHEN started_at >= :since THEN rows_read ELSE 0 END) AS rows_read,
       SUM(CASE WHEN started_at >= :since THEN rows_quarantined ELSE 0 END) AS rows_quarantined
FROM audit.ingest_log
WHERE status IN ('loaded', 'partial', 'rejected')
GROUP BY department, resource;
