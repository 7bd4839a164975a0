-- One page's rows of one publication: after one key, up to another, in primary-key order.
SELECT {{select}} FROM {{table}}
WHERE _batch_id = :batch_id {{after}} {{until}}
ORDER BY {{primary_key}};
