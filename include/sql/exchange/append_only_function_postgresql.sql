-- one statement
CREATE OR REPLACE FUNCTION audit.access_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit.access_log is append-only (% refused)', TG_OP;
END;
$$
