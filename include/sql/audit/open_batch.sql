INSERT INTO audit.ingest_log (department, resource, source_kind, source, checksum, status, run_id, started_at)
VALUES (:department, :resource, :source_kind, :source, :checksum, 'loading', :run_id, :started_at)
RETURNING batch_id;
