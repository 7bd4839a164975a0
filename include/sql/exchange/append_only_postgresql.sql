-- audit.access_log is append-only for every role: no privilege to change it, and a trigger
-- that refuses UPDATE, DELETE and TRUNCATE even for the owner.
REVOKE UPDATE, DELETE, TRUNCATE ON audit.access_log FROM PUBLIC;

CREATE OR REPLACE TRIGGER access_log_no_change BEFORE UPDATE OR DELETE ON audit.access_log
    FOR EACH ROW EXECUTE FUNCTION audit.access_log_append_only();

CREATE OR REPLACE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON audit.access_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit.access_log_append_only();
