-- The version guard, before the upsert (both dialects; replay uses it too): a staged row whose
-- key core already holds in a newer version is recorded here and removed from staging
-- (load/drop_stale.sql), so it never overwrites the newer row. {{source}} yields the delivery's
-- version of each key (its last row). Newer means a greater version field ({{version}}), or,
-- for a replayed row (_origin set), an equal version written by a later batch than the row's
-- own. Rows of this very batch (direct first load) are never stale against each other.
INSERT INTO quality.stale_rows (batch_id, department, resource, row_number, row_key, version, current_version,
                                current_batch_id, created_at)
SELECT {{batch_id}}, :department, :resource, s._row + 1, {{key_text}}, CAST(s.{{version}} AS TEXT),
       CAST(cur.{{version}} AS TEXT), cur._batch_id, :created_at
FROM {{source}} AS s
JOIN {{target}} AS cur ON {{key_match}}
WHERE cur._batch_id <> {{batch_id}}
  AND (COALESCE(cur.{{version}} > s.{{version}}, FALSE)
       OR (NOT COALESCE(s.{{version}} > cur.{{version}}, FALSE) AND cur._batch_id > COALESCE(s._origin, {{batch_id}})));
