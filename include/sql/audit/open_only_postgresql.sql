-- Every new audit row of a loading role starts open (audit/open_only_function_postgresql.sql).
CREATE OR REPLACE TRIGGER ingest_log_open_only BEFORE INSERT ON audit.ingest_log
    FOR EACH ROW EXECUTE FUNCTION audit.ingest_log_open_only();
