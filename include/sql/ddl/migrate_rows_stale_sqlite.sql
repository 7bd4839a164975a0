-- An audit.ingest_log created before versions were compared (SQLite cannot alter a CHECK):
-- rebuild it with rows_stale = 0 for every existing row and the widened accounting check.
-- Runs only when the column is missing (citydata.warehouse.schema), inside the schema transaction.
CREATE TABLE audit.ingest_log_migrating (
    batch_id {{t_id_pk}},
    department TEXT NOT NULL,
    resource TEXT NOT NULL,
    source_kind TEXT NOT NULL,
    source TEXT NOT NULL,
    checksum TEXT,
    status TEXT NOT NULL,
    rows_read BIGINT NOT NULL DEFAULT 0,
    rows_loaded BIGINT NOT NULL DEFAULT 0,
    rows_quarantined BIGINT NOT NULL DEFAULT 0,
    rows_duplicate BIGINT NOT NULL DEFAULT 0,
    reason TEXT,
    run_id TEXT,
    started_at {{t_timestamp}} NOT NULL,
    t_landed {{t_timestamp}},
    rows_stale BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT ingest_log_accounting CHECK (rows_read = rows_loaded + rows_quarantined + rows_duplicate + rows_stale)
);
INSERT INTO audit.ingest_log_migrating (batch_id, department, resource, source_kind, source, checksum, status,
    rows_read, rows_loaded, rows_quarantined, rows_duplicate, reason, run_id, started_at, t_landed, rows_stale)
SELECT batch_id, department, resource, source_kind, source, checksum, status,
    rows_read, rows_loaded, rows_quarantined, rows_duplicate, reason, run_id, started_at, t_landed, 0
FROM audit.ingest_log;
DROP TABLE audit.ingest_log;
ALTER TABLE audit.ingest_log_migrating RENAME TO audit.ingest_log;
