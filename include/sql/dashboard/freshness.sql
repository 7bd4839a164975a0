-- Last time each resource had rows land in core (commit time of the load), for the
-- dashboard's freshness list. Loads that landed nothing (all duplicates, rejected files)
-- do not make a resource fresh.
SELECT department, resource, MAX(t_landed) AS last_landed, MAX(batch_id) AS last_batch_id
FROM audit.ingest_log
WHERE t_landed IS NOT NULL
  AND rows_loaded > 0
GROUP BY department, resource;
