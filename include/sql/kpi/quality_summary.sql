-- Data-quality summary of a period: deliveries (files or pulls) started in [start, end) per
-- department and resource, with the row accounting and the quarantine rows they produced.
SELECT l.department, l.resource,
       COUNT(*) AS deliveries,
       SUM(CASE WHEN l.status = 'loaded' THEN 1 ELSE 0 END) AS loaded,
       SUM(CASE WHEN l.status = 'partial' THEN 1 ELSE 0 END) AS partial,
       SUM(CASE WHEN l.status = 'rejected' THEN 1 ELSE 0 END) AS rejected,
       SUM(l.rows_read) AS rows_read,
       SUM(l.rows_loaded) AS rows_loaded,
       SUM(l.rows_quarantined) AS rows_quarantined,
       SUM(l.rows_duplicate) AS rows_duplicate,
       (SELECT COUNT(*) FROM quality.quarantine AS q
        WHERE q.department = l.department AND q.resource = l.resource AND q.status = 'open'
          AND q.created_at >= :start AND q.created_at < :end) AS quarantine_open
FROM audit.ingest_log AS l
WHERE l.started_at >= :start AND l.started_at < :end AND l.status <> 'loading'
GROUP BY l.department, l.resource
ORDER BY l.department, l.resource;
