-- One masked row into the sharing layer (executemany).
INSERT INTO {{target}} AS cur ({{columns}}, _batch_id, _t_published)
VALUES ({{values}}, :_batch_id, :_t_published)
ON CONFLICT ({{primary_key}}) DO UPDATE
SET {{set_columns}}, _batch_id = excluded._batch_id, _t_published = excluded._t_published;
