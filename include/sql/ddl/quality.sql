-- Validation summaries: one row per check per delivery (batch), kept beside the load.
-- evaluated = rows (or 1 for header/delivery-level checks) the check looked at; failed = how many failed.
CREATE TABLE IF NOT EXISTS quality.validation_results (
    result_id {{t_id_pk}},
    batch_id BIGINT NOT NULL,
    department TEXT NOT NULL,
    resource TEXT NOT NULL,
    expectation TEXT NOT NULL,
    column_name TEXT,
    severity TEXT NOT NULL,
    level TEXT NOT NULL,
    evaluated BIGINT NOT NULL,
    failed BIGINT NOT NULL,
    description TEXT,
    created_at {{t_timestamp}} NOT NULL
);

CREATE INDEX IF NOT EXISTS validation_results_batch ON quality.validation_results (batch_id);

CREATE INDEX IF NOT EXISTS validation_results_resource ON quality.validation_results (department, resource, created_at);

-- Corrections a department made to quarantined rows (citydata quarantine import); the
-- original raw record stays untouched in quality.quarantine, replay uses the latest correction.
CREATE TABLE IF NOT EXISTS quality.quarantine_corrections (
    correction_id {{t_id_pk}},
    quarantine_id BIGINT NOT NULL,
    record {{t_json}} NOT NULL,
    source TEXT NOT NULL,
    corrected_at {{t_timestamp}} NOT NULL
);

CREATE INDEX IF NOT EXISTS quarantine_corrections_row ON quality.quarantine_corrections (quarantine_id, correction_id);

-- Rows of a delivery older than the version core already held (by the resource's version
-- field, registry version_field, default the event time): counted as audit rows_stale and kept
-- here instead of overwriting the newer row. The whole row is in the archived delivery at
-- row_number (audit source names it); key and versions are shown as text.
CREATE TABLE IF NOT EXISTS quality.stale_rows (
    stale_id {{t_id_pk}},
    batch_id BIGINT NOT NULL,
    department TEXT NOT NULL,
    resource TEXT NOT NULL,
    row_number BIGINT NOT NULL,
    row_key TEXT NOT NULL,
    version TEXT,
    current_version TEXT,
    current_batch_id BIGINT NOT NULL,
    created_at {{t_timestamp}} NOT NULL
);

CREATE INDEX IF NOT EXISTS stale_rows_batch ON quality.stale_rows (batch_id, row_key);

CREATE INDEX IF NOT EXISTS stale_rows_resource ON quality.stale_rows (department, resource, created_at);
