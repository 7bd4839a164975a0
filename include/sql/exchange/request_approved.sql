-- Approved (not revoked) requests of one resource, optionally of one consumer: what decides access.
SELECT request_id, consumer, fields FROM meta.access_requests
WHERE department = :department AND resource = :resource AND status = 'approved'
  AND (CAST(:consumer AS TEXT) IS NULL OR consumer = :consumer)
ORDER BY request_id;
