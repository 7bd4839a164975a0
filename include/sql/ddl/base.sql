-- Tables every deployment has, independent of the registry. Idempotent.

-- One row per ingested file or pull: the accounting invariant lives here,
-- rows_read = rows_loaded + rows_quarantined + rows_duplicate + rows_stale, and t_landed is the
-- commit time of the load transaction that made the rows queryable in core. rows_stale: rows
-- older (by the resource's version field) than the version core already held, kept in
-- quality.stale_rows instead of overwriting it. Older tables gain the column through
-- ddl/migrate_rows_stale_<dialect>.sql.
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
    rows_stale BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT ingest_log_accounting CHECK (rows_read = rows_loaded + rows_quarantined + rows_duplicate + rows_stale)
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

-- The fingerprint (registry, SQL files, code) of the last complete schema set-up: a process
-- whose fingerprint matches skips the DDL and its lock (citydata/bootstrap.py). One row.
CREATE TABLE IF NOT EXISTS meta.schema_state (
    id INTEGER PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    applied_at {{t_timestamp}} NOT NULL
);

-- The delivered name of a file whose name was masked in audit.ingest_log.source (landing.Landed):
-- a restricted place (owner and loading roles insert, nobody else reads), append-only.
CREATE TABLE IF NOT EXISTS audit.source_names (
    batch_id BIGINT PRIMARY KEY,
    source_raw TEXT NOT NULL
);
