-- An audit.ingest_log created before versions were compared: add rows_stale and widen the
-- accounting check to rows_read = rows_loaded + rows_quarantined + rows_duplicate + rows_stale.
-- Runs only when the column is missing (citydata.warehouse.schema); grants are kept (in place).
ALTER TABLE audit.ingest_log ADD COLUMN IF NOT EXISTS rows_stale BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit.ingest_log DROP CONSTRAINT IF EXISTS ingest_log_check;
ALTER TABLE audit.ingest_log DROP CONSTRAINT IF EXISTS ingest_log_accounting;
ALTER TABLE audit.ingest_log ADD CONSTRAINT ingest_log_accounting
    CHECK (rows_read = rows_loaded + rows_quarantined + rows_duplicate + rows_stale);
