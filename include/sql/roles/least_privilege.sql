-- Least-privilege roles beside the sharing roles (citydata.share.roles): PostgreSQL only, idempotent,
-- NOLOGIN group roles (deployments grant LOGIN users membership: GRANT citydata_ingest_writer TO airflow).
-- Run by the warehouse owner after the schema exists (tables created later need a re-run, like the share grants).
--
-- citydata_ingest_writer: what the ingest and pull tasks do and nothing more: read and write core/raw,
--   append to audit/quality and move watermarks; no DELETE/TRUNCATE (the audit log is append-only for it),
--   no DDL, nothing in kpi; publish (ingest_path publishes right after the load): read and write the
--   share tables (masked), append to audit.publish_log, close corrected objections (key, field and
--   digest only). Nothing of the exchange's consumers, tokens, requests or access log.
-- citydata_dashboard_reader: reads the indicators (kpi) and the ingest log; never raw/core/quality data.
DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'citydata_ingest_writer') THEN CREATE ROLE citydata_ingest_writer NOLOGIN; END IF; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'citydata_dashboard_reader') THEN CREATE ROLE citydata_dashboard_reader NOLOGIN; END IF; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;

REVOKE ALL ON ALL TABLES IN SCHEMA raw, core, audit, quality, meta, share, kpi FROM citydata_ingest_writer, citydata_dashboard_reader;
REVOKE ALL ON SCHEMA raw, core, audit, quality, meta, share, kpi FROM citydata_ingest_writer, citydata_dashboard_reader;

GRANT USAGE ON SCHEMA raw, core, audit, quality, meta TO citydata_ingest_writer;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA raw, core, audit, quality, meta TO citydata_ingest_writer;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA raw, core, audit, quality, meta TO citydata_ingest_writer;
GRANT USAGE ON SCHEMA share TO citydata_ingest_writer;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA share TO citydata_ingest_writer;

-- The exchange is the sharing API's (run as the owner): tokens, requests, the access log.
-- Of the objections the writer sees what closing a corrected one needs (roles/department_writer.sql
-- adds the row-level policy), never the consumer or the reason.
REVOKE ALL ON meta.exchange_consumers, meta.access_requests, meta.objections, audit.access_log
    FROM citydata_ingest_writer;
GRANT SELECT (objection_id, department, resource, row_key, field, value_digest, status),
    UPDATE (status, resolved_at, resolution, closed_by_batch) ON meta.objections TO citydata_ingest_writer;

-- The accounting is append-only for the writer: it opens an audit row (only the columns an open
-- row has) and closes it once through audit.close_batch (SECURITY DEFINER, owned by the warehouse
-- owner), which never rewrites a closed row. No UPDATE of the audit log, of the quarantined rows
-- and their reasons, of stale rows or of validation results: quarantined rows cannot be hidden
-- or marked discarded by the role that loads (replay and corrections run as the owner).
REVOKE UPDATE, DELETE, TRUNCATE ON audit.ingest_log, quality.quarantine, quality.stale_rows,
    quality.validation_results, audit.publish_log FROM citydata_ingest_writer;
REVOKE INSERT ON audit.ingest_log FROM citydata_ingest_writer;
GRANT INSERT (department, resource, source_kind, source, checksum, status, run_id, started_at)
    ON audit.ingest_log TO citydata_ingest_writer;
REVOKE SELECT, UPDATE, DELETE, TRUNCATE ON audit.source_names FROM citydata_ingest_writer;
REVOKE ALL ON FUNCTION audit.close_batch(BIGINT, TEXT, BIGINT, BIGINT, BIGINT, BIGINT, BIGINT, TEXT, TIMESTAMPTZ) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit.close_batch(BIGINT, TEXT, BIGINT, BIGINT, BIGINT, BIGINT, BIGINT, TEXT, TIMESTAMPTZ)
    TO citydata_ingest_writer;

GRANT USAGE ON SCHEMA kpi, audit TO citydata_dashboard_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA kpi TO citydata_dashboard_reader;
GRANT SELECT ON audit.ingest_log TO citydata_dashboard_reader;

-- audit.access_log is append-only for every role (the writer holds nothing on it, see above).
REVOKE UPDATE, DELETE, TRUNCATE ON audit.access_log FROM citydata_ingest_writer, citydata_dashboard_reader, PUBLIC;
