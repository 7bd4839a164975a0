-- Outgoing emails (quality reports, digests, alerts): one row per message and recipient.
-- The unique message_key makes composing idempotent and sending at most once per key:
-- a retry or a later run finds the row 'sent' and leaves it alone. 'failed' = the server refused
-- it permanently (5xx, e.g. unknown recipient): kept with last_error, not retried. Idempotent DDL.
CREATE TABLE IF NOT EXISTS quality.notifications (
    notification_id {{t_id_pk}},
    message_key TEXT NOT NULL UNIQUE,
    report_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    department TEXT,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    run_id TEXT,
    message TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    transport TEXT,
    created_at {{t_timestamp}} NOT NULL,
    sent_at {{t_timestamp}},
    CHECK (status IN ('pending', 'sent', 'failed'))
);

CREATE INDEX IF NOT EXISTS notifications_pending ON quality.notifications (status, department);

CREATE INDEX IF NOT EXISTS notifications_report ON quality.notifications (report_key);

-- Which ingest batches a quality report already covers, so each is reported once.
CREATE TABLE IF NOT EXISTS quality.notified_batches (
    batch_id BIGINT PRIMARY KEY,
    report_key TEXT NOT NULL,
    created_at {{t_timestamp}} NOT NULL
);
