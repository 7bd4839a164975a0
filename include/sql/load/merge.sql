-- PostgreSQL upsert of a delivery whose keys are unique, in ONE join with core: existing
-- rows whose values differ are rewritten, new keys inserted, unchanged rows skipped (not
-- touched, their _batch_id kept, so they count as duplicates); the command's row count is
-- updated + inserted. The planner picks a hash join: sorting a million keys under the
-- database's collation costs more than the join. The caller holds a lock that keeps other
-- loads of this table out until commit, so no concurrent insert can collide.
MERGE INTO {{target}} AS cur
USING {{deduped}} AS s
ON {{key_match}}
WHEN MATCHED AND ({{current_columns}}) IS DISTINCT FROM ({{new_columns}}) THEN
    UPDATE SET {{set_columns}}, _batch_id = {{batch_id}}
WHEN NOT MATCHED THEN
    INSERT ({{columns}}, _batch_id) VALUES ({{new_all}}, {{batch_id}});
