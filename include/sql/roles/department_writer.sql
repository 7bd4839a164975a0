-- The ingest role of one department (citydata_ingest_<department>), PostgreSQL only, idempotent; run by the warehouse
-- owner after roles/least_privilege.sql. What loading the department's deliveries needs and nothing
-- of another department: read and write its own core tables only; open and close audit rows (the
-- accounting stays append-only, see least_privilege.sql); add quarantined, stale and validation rows;
-- read quarantined rows of its own department only (row-level security; the quality email lists
-- them); move watermarks; keep the event counts its core tables' triggers write; publish its own
-- resources (ingest_path publishes right after the load): its own share tables (masked; SELECT too,
-- since INSERT ... ON CONFLICT DO UPDATE reads the columns it references; granted per table by
-- citydata.share.roles), its own rows of audit.publish_log, and the objections to its own resources
-- a correction closes (key, field and digest only: never the consumer or the reason).
-- Nothing of another department, nothing of the exchange's consumers, tokens, requests or access log.
-- (the role itself is created by citydata.share.roles, as the sharing roles are)
REVOKE ALL ON ALL TABLES IN SCHEMA raw, core, audit, quality, meta, share, kpi FROM {{role}};
REVOKE ALL ON SCHEMA raw, core, audit, quality, meta, share, kpi FROM {{role}};
GRANT USAGE ON SCHEMA core, audit, quality, meta, share TO {{role}};
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

GRANT SELECT ON meta.schema_state TO {{role}};  -- the set-up fingerprint: a matching one skips the DDL
GRANT SELECT, INSERT ON audit.publish_log TO {{role}};
ALTER TABLE audit.publish_log ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS publish_log_all ON audit.publish_log;
CREATE POLICY publish_log_all ON audit.publish_log TO citydata_ingest_writer USING (true) WITH CHECK (true);
DROP POLICY IF EXISTS publish_log_{{department}} ON audit.publish_log;
CREATE POLICY publish_log_{{department}} ON audit.publish_log TO {{role}}
    USING (department = {{department_literal}}) WITH CHECK (department = {{department_literal}});

GRANT SELECT (objection_id, department, resource, row_key, field, value_digest, status),
    UPDATE (status, resolved_at, resolution, closed_by_batch) ON meta.objections TO {{role}};
ALTER TABLE meta.objections ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS objections_all ON meta.objections;
CREATE POLICY objections_all ON meta.objections TO citydata_ingest_writer USING (true) WITH CHECK (true);
DROP POLICY IF EXISTS objections_{{department}} ON meta.objections;
CREATE POLICY objections_{{department}} ON meta.objections TO {{role}}
    USING (department = {{department_literal}}) WITH CHECK (department = {{department_literal}});
