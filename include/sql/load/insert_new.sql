-- The other half: keys not yet in core, inserted in key order (the primary-key index and
-- the heap then grow in order). The caller holds a lock that keeps other loads of the same
-- table out until commit, so NOT EXISTS cannot race with a concurrent insert.
INSERT INTO {{target}} ({{columns}}, _batch_id)
SELECT {{columns}}, {{batch_id}}
FROM {{deduped}} AS s
WHERE NOT EXISTS (SELECT 1 FROM {{target}} AS cur WHERE {{key_match}})
ORDER BY {{primary_key}};
