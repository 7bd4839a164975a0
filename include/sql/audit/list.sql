SELECT batch_id, department, resource, source_kind, source, checksum, status,
       rows_read, rows_loaded, rows_quarantined, rows_duplicate, rows_stale, reason, run_id, started_at, t_landed
FROM audit.ingest_log
WHERE (CAST(:department AS TEXT) IS NULL OR department = :department)
  AND status <> 'loading'
ORDER BY batch_id;
