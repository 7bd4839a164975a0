-- Set-based upsert from staging into core. Within one delivery the last version of a key
-- wins; rows whose values are unchanged are skipped (not rewritten, _batch_id kept), so a
-- re-delivery changes nothing and its rows count as duplicates.
INSERT INTO {{target}} AS cur ({{columns}}, _batch_id)
SELECT {{columns}}, {{batch_id}}
FROM (
    SELECT {{columns}},
           ROW_NUMBER() OVER (PARTITION BY {{primary_key}} ORDER BY _row DESC) AS _rn
    FROM {{staging}}
) AS s
WHERE s._rn = 1
ORDER BY {{primary_key}}
ON CONFLICT ({{primary_key}}) DO UPDATE
SET {{set_columns}}, _batch_id = excluded._batch_id
WHERE ({{current_columns}}) IS DISTINCT FROM ({{excluded_columns}});
