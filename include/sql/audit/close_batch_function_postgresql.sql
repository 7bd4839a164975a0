-- one statement
-- Closing a delivery's audit row is the only change an audit row ever sees, and only once: the
-- loading roles hold no UPDATE on audit.ingest_log (roles/least_privilege.sql) and call this
-- function, which runs as its owner. A closed row (status other than 'loading') is never rewritten,
-- so a writer cannot hide quarantined rows afterwards; every count is carried, rows_stale included.
CREATE OR REPLACE FUNCTION audit.close_batch(p_batch_id BIGINT, p_status TEXT, p_rows_read BIGINT,
        p_rows_loaded BIGINT, p_rows_quarantined BIGINT, p_rows_duplicate BIGINT, p_rows_stale BIGINT,
        p_reason TEXT, p_t_landed TIMESTAMPTZ)
RETURNS VOID LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF p_status NOT IN ('loaded', 'partial', 'rejected') THEN
        RAISE EXCEPTION 'audit batch %: status % is not loaded, partial or rejected', p_batch_id, p_status;
    END IF;
    UPDATE audit.ingest_log
       SET status = p_status, rows_read = p_rows_read, rows_loaded = p_rows_loaded,
           rows_quarantined = p_rows_quarantined, rows_duplicate = p_rows_duplicate, rows_stale = p_rows_stale,
           reason = p_reason, t_landed = p_t_landed
     WHERE batch_id = p_batch_id AND status = 'loading';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'audit batch % is not open: a closed audit row is never rewritten', p_batch_id;
    END IF;
END
$fn$;
