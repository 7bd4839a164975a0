-- PostgreSQL only (system catalogs; SQLite never takes the first-load shortcut):
-- the indexes of a core table, with the constraint each one backs, to drop them before a
-- bulk first load and rebuild them afterwards exactly as they were. fk_refs > 0 or an
-- index backing another kind of constraint makes the shortcut unsafe (the caller skips it).
SELECT
    i.indexrelid::regclass::text AS index_name,
    pg_get_indexdef(i.indexrelid) AS index_def,
    c.conname AS constraint_name,
    c.contype AS constraint_type,
    CASE WHEN c.oid IS NULL THEN NULL ELSE pg_get_constraintdef(c.oid) END AS constraint_def,
    (SELECT count(*) FROM pg_constraint f WHERE f.confrelid = i.indrelid AND f.contype = 'f') AS fk_refs
FROM pg_index AS i
LEFT JOIN pg_constraint AS c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid
WHERE i.indrelid = CAST(:target AS regclass)
ORDER BY c.contype NULLS LAST, index_name;
