-- Messages still to deliver, oldest first; a department filter keeps each ingest DAG to its own.
SELECT notification_id, message_key, report_key, kind, department, recipient, subject, message, attempts
FROM quality.notifications
WHERE status = 'pending'
  AND (CAST(:department AS TEXT) IS NULL OR department = :department)
  AND (CAST(:kind AS TEXT) IS NULL OR kind = :kind)
ORDER BY notification_id;
