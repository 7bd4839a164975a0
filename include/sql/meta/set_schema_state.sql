-- Record a complete schema set-up; last statement of its transaction.
INSERT INTO meta.schema_state (id, fingerprint, applied_at) VALUES (1, :fingerprint, :applied_at)
ON CONFLICT (id) DO UPDATE SET fingerprint = excluded.fingerprint, applied_at = excluded.applied_at;
