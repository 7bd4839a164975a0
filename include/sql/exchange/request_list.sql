-- Requests, newest first; every filter optional.
SELECT * FROM meta.access_requests
WHERE (CAST(:consumer AS TEXT) IS NULL OR consumer = :consumer)
  AND (CAST(:status AS TEXT) IS NULL OR status = :status)
  AND (CAST(:department AS TEXT) IS NULL OR department = :department)
  AND (CAST(:resource AS TEXT) IS NULL OR resource = :resource)
ORDER BY request_id DESC;
