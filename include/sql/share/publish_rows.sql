-- Copy one batch's core rows into the sharing layer unchanged (resources without
-- sensitive fields); masked resources go through Python instead (citydata.share.publish).
INSERT INTO {{target}} AS cur ({{columns}}, _batch_id, _t_published)
SELECT {{columns}}, _batch_id, :t_published
FROM {{source}}
WHERE _batch_id = :batch_id
ORDER BY {{primary_key}}
ON CONFLICT ({{primary_key}}) DO UPDATE
SET {{set_columns}}, _batch_id = excluded._batch_id, _t_published = excluded._t_published;
