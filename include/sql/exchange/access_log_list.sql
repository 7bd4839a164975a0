SELECT log_id, t_request, consumer, method, path, resource, cursor, rows_returned, status, client_addr, detail
FROM audit.access_log
WHERE (CAST(:consumer AS TEXT) IS NULL OR consumer = :consumer)
  AND (CAST(:resource AS TEXT) IS NULL OR resource = :resource)
ORDER BY log_id DESC
LIMIT :limit;
