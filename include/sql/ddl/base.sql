-- Tables every deployment has, independent of the registry. Idempotent.

-- One row per ingested file or pull: the accounting invariant lives here,
-- rows_read = rows_loaded + rows_quarantined + rows_duplicate, and t_landed is the
-- commit time of the load transaction that made the rows queryable in core.
CREATE TABLE IF NOT EXISTS audit.ingest_log (
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
    CHECK (rows_read = rows_loaded + rows_quarantined + rows_duplicate)
);

CREATE INDEX IF NOT EXISTS ingest_log_resource ON audit.ingest_log (department, resource, t_landed);

CREATE INDEX IF NOT EXISTS ingest_log_checksum ON audit.ingest_log (department, resource, checksum);

-- Rows that failed an error-severity check, with the reasons and the raw values.
CREATE TABLE IF NOT EXISTS quality.quarantine (
    quarantine_id {{t_id_pk}},
    batch_id BIGINT NOT NULL,
    department TEXT NOT NULL,
    resource TEXT NOT NULL,
    source TEXT NOT NULL,
    row_number BIGINT NOT NULL,
    record {{t_json}} NOT NULL,
    errors {{t_json}} NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    created_at {{t_timestamp}} NOT NULL,
    resolved_batch_id BIGINT
);

CREATE INDEX IF NOT EXISTS quarantine_open ON quality.quarantine (department, resource, status);

-- Incremental pull positions; advanced in the same transaction as the load they cover.
CREATE TABLE IF NOT EXISTS meta.watermarks (
    department TEXT NOT NULL,
    resource TEXT NOT NULL,
    source TEXT NOT NULL,
    watermark TEXT NOT NULL,
    updated_at {{t_timestamp}} NOT NULL,
    PRIMARY KEY (department, resource, source)
);
