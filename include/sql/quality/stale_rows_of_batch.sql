-- The rows of one load that the version guard kept out of core (load/stale.sql).
SELECT row_number, row_key, version, current_version, current_batch_id
FROM quality.stale_rows
WHERE batch_id = :batch_id
ORDER BY row_number;
