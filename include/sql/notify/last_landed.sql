-- When each resource of a department last received data (NULL: never).
SELECT resource, MAX(t_landed) AS last_landed
FROM audit.ingest_log
WHERE department = :department AND status IN ('loaded', 'partial') AND t_landed IS NOT NULL
GROUP BY resource;
