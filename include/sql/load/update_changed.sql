-- Set-based half of the upsert: rewrite only the existing rows whose values changed; rows
-- delivered again unchanged are not touched (their _batch_id stays), so they count as
-- duplicates. A join, not a per-row ON CONFLICT probe: on PostgreSQL a hash or merge join.
UPDATE {{target}} AS cur
SET {{set_columns}}, _batch_id = {{batch_id}}
FROM {{deduped}} AS s
WHERE {{key_match}}
  AND ({{current_columns}}) IS DISTINCT FROM ({{new_columns}});
