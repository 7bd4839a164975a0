-- The exchange (共享交换): consumers, access requests (供需对接), objections (异议处理), access log (安全审计).
-- Idempotent. Everything here lives in owner-only schemas (meta, audit): no consumer role reads it.

-- One row per consuming department that may call the sharing API. Only the SHA-256 of the
-- bearer token is kept; the token itself is shown once, when it is issued.
CREATE TABLE IF NOT EXISTS meta.exchange_consumers (
    consumer TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL DEFAULT 'active',
    created_at {{t_timestamp}} NOT NULL,
    revoked_at {{t_timestamp}},
    CHECK (status IN ('active', 'revoked'))
);

-- Requests for a conditionally shared resource, and the registry's pre-approved consumers
-- (source = 'registry'): one mechanism decides access. fields: JSON list, NULL = every field.
CREATE TABLE IF NOT EXISTS meta.access_requests (
    request_id {{t_id_pk}},
    consumer TEXT NOT NULL,
    department TEXT NOT NULL,
    resource TEXT NOT NULL,
    code TEXT NOT NULL,
    fields {{t_json}},
    purpose TEXT NOT NULL,
    legal_basis TEXT,
    source TEXT NOT NULL,
    status TEXT NOT NULL,
    submitted_at {{t_timestamp}} NOT NULL,
    review_due_at {{t_timestamp}} NOT NULL,
    reviewed_at {{t_timestamp}},
    answer_due_at {{t_timestamp}} NOT NULL,
    decided_at {{t_timestamp}},
    reason TEXT,
    revoked_at {{t_timestamp}},
    CHECK (status IN ('submitted', 'reviewed', 'approved', 'rejected', 'revoked'))
);

CREATE INDEX IF NOT EXISTS access_requests_resource ON meta.access_requests (department, resource, consumer, status);

-- Objections to shared values. row_key: canonical JSON of the primary key; value_digest: SHA-256
-- of the disputed core value when raised (never the value itself), to see when a correction changed it.
CREATE TABLE IF NOT EXISTS meta.objections (
    objection_id {{t_id_pk}},
    consumer TEXT NOT NULL,
    department TEXT NOT NULL,
    resource TEXT NOT NULL,
    code TEXT NOT NULL,
    row_key TEXT NOT NULL,
    field TEXT NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    value_digest TEXT,
    raised_at {{t_timestamp}} NOT NULL,
    accepted_at {{t_timestamp}},
    resolved_at {{t_timestamp}},
    resolution TEXT,
    closed_by_batch BIGINT,
    CHECK (status IN ('open', 'accepted', 'corrected', 'rejected'))
);

CREATE INDEX IF NOT EXISTS objections_resource ON meta.objections (department, resource, status);

-- Every call to the sharing API, allowed or refused. Append-only (triggers; on PostgreSQL
-- also no UPDATE/DELETE/TRUNCATE privilege for anyone but the owner, whom the trigger stops).
CREATE TABLE IF NOT EXISTS audit.access_log (
    log_id {{t_id_pk}},
    t_request {{t_timestamp}} NOT NULL,
    consumer TEXT,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    resource TEXT,
    cursor TEXT,
    rows_returned BIGINT NOT NULL DEFAULT 0,
    status INTEGER NOT NULL,
    client_addr TEXT,
    detail TEXT
);

CREATE INDEX IF NOT EXISTS access_log_consumer ON audit.access_log (consumer, t_request);

CREATE INDEX IF NOT EXISTS access_log_resource ON audit.access_log (resource, t_request);
