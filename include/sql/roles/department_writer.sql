-- The ingest role of one department (citydata_ingest_<department>), PostgreSQL only, idempotent; run by the warehouse
-- owner after roles/least_privilege.sql. What loading the department's deliveries needs and nothing
-- of another department: read and write its own core tables only; open and close audit rows (the
-- accounting stays append-only, see least_privilege.sql); add quarantined, stale and validation rows;
-- read quarantined rows of its own department only (row-level security; the quality email lists
-- them); move watermarks; keep the event counts its core tables' triggers write.
-- (the role itself is created by citydata.share.roles, as the sharing roles are)
REVOKE ALL ON ALL TABLES IN SCHEMA raw, core, audit, quality, meta, share, kpi FROM {{role}};
REVOKE ALL ON SCHEMA raw, core, audit, quality, meta, share, kpi FROM {{role}};
GRANT USAGE ON SCHEMA core, audit, quality, meta TO {{role}};
GRANT USAGE ON ALL SEQUENCES IN SCHEMA audit, quality TO {{role}};

GRANT SELECT ON audit.ingest_log TO {{role}};
GRANT INSERT (department, resource, source_kind, source, checksum, status, run_id, started_at)
    ON audit.ingest_log TO {{role}};
GRANT EXECUTE ON FUNCTION audit.close_batch(BIGINT, TEXT, BIGINT, BIGINT, BIGINT, BIGINT, BIGINT, TEXT, TIMESTAMPTZ)
    TO {{role}};
GRANT SELECT, INSERT, UPDATE, DELETE ON audit.batch_events TO {{role}};
GRANT INSERT ON quality.stale_rows, audit.source_names TO {{role}};
GRANT SELECT, INSERT ON quality.validation_results TO {{role}};
GRANT SELECT, INSERT ON quality.quarantine TO {{role}};
GRANT SELECT, INSERT, UPDATE ON quality.notifications, quality.notified_batches TO {{role}};
GRANT SELECT, INSERT, UPDATE ON meta.watermarks TO {{role}};

ALTER TABLE quality.quarantine ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS quarantine_all ON quality.quarantine;
CREATE POLICY quarantine_all ON quality.quarantine TO citydata_ingest_writer USING (true) WITH CHECK (true);
DROP POLICY IF EXISTS quarantine_{{department}} ON quality.quarantine;
CREATE POLICY quarantine_{{department}} ON quality.quarantine TO {{role}}
    USING (department = {{department_literal}}) WITH CHECK (department = {{department_literal}});
