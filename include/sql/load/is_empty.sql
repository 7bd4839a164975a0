-- 1 when the core table has no row at all (the first-load shortcut applies).
SELECT CASE WHEN EXISTS (SELECT 1 FROM {{target}}) THEN 0 ELSE 1 END;
