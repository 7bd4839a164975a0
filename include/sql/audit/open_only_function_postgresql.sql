-- one statement
-- A loading role opens an audit row and closes it once through audit.close_batch. Its INSERT
-- privilege covers the status column (open_batch.sql writes 'loading'), so without this guard it
-- could insert a row already 'loaded' or 'rejected' that was never opened nor closed. A new row
-- whose status is not 'loading' is refused unless the inserting role may UPDATE the table (the
-- owner: fixtures and migrations that write closed rows). SECURITY INVOKER: current_user is the
-- role that inserts.
CREATE OR REPLACE FUNCTION audit.ingest_log_open_only() RETURNS trigger LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF NEW.status IS DISTINCT FROM 'loading'
       AND NOT has_table_privilege(current_user, 'audit.ingest_log', 'UPDATE') THEN
        RAISE EXCEPTION 'audit.ingest_log: a new audit row is opened with status loading, not %; it is closed only through audit.close_batch',
            COALESCE(NEW.status, 'NULL')
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$fn$;
