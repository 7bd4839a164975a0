-- PostgreSQL: through the owner's function (audit/close_batch_function_postgresql.sql), since the
-- loading roles may not UPDATE the audit log.
SELECT audit.close_batch(CAST(:batch_id AS BIGINT), :status, CAST(:rows_read AS BIGINT),
                         CAST(:rows_loaded AS BIGINT), CAST(:rows_quarantined AS BIGINT),
                         CAST(:rows_duplicate AS BIGINT), CAST(:rows_stale AS BIGINT), :reason,
                         CAST(:t_landed AS TIMESTAMPTZ));
