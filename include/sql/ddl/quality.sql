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
