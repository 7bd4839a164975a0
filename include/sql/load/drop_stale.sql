-- Every staged row of a key found stale (load/stale.sql) leaves staging: the delivery's
-- version of that key does not reach core (its other copies count as duplicates).
DELETE FROM {{staging}}
WHERE EXISTS (
    SELECT 1 FROM quality.stale_rows AS st
    WHERE st.batch_id = {{batch_id}} AND st.row_key = {{key_text}}
);
