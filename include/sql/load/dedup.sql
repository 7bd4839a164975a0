-- The last version of each key in one delivery (rows later in the source win), stored
-- once so that the update and the insert below join against it without sorting twice.
CREATE TEMP TABLE {{deduped}} AS
SELECT {{columns}}, _row, _origin
FROM (
    SELECT {{columns}}, _row, _origin,
           ROW_NUMBER() OVER (PARTITION BY {{primary_key}} ORDER BY _row DESC) AS _rn
    FROM {{staging}}
) AS s
WHERE s._rn = 1;
