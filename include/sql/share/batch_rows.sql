-- The core rows one load batch last changed (what its publication copies).
SELECT {{columns}}, _batch_id
FROM {{source}}
WHERE _batch_id = :batch_id
ORDER BY {{primary_key}};
