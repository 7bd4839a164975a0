UPDATE audit.ingest_log
SET status = :status,
    rows_read = :rows_read,
    rows_loaded = :rows_loaded,
    rows_quarantined = :rows_quarantined,
    rows_duplicate = :rows_duplicate,
    rows_stale = :rows_stale,
    reason = :reason,
    t_landed = :t_landed
WHERE batch_id = :batch_id;
