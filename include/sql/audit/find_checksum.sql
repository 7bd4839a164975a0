-- An earlier successful load of the same content for the same resource.
SELECT batch_id, rows_read
FROM audit.ingest_log
WHERE department = :department AND resource = :resource AND checksum = :checksum
  AND status IN ('loaded', 'partial')
ORDER BY batch_id
LIMIT 1;
