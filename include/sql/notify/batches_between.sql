-- Every finished delivery of a department started in [start, end): the daily digest.
SELECT batch_id, department, resource, source_kind, source, status, rows_read, rows_loaded,
       rows_quarantined, rows_duplicate, reason, run_id, started_at, t_landed
FROM audit.ingest_log
WHERE department = :department AND status <> 'loading' AND started_at >= :start AND started_at < :end
ORDER BY batch_id;
