-- The key of the row at a given offset after a key, within one publication (where a page ends).
SELECT {{primary_key}} FROM {{table}}
WHERE _batch_id = :batch_id {{after}}
ORDER BY {{primary_key}}
LIMIT 1 OFFSET :offset;
