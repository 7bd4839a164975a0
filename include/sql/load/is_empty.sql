-- 1 when the first-load shortcut applies: the core table has no row at all, and this user may
-- drop and rebuild its indexes (it owns the table, or is in its owner role). A least-privilege
-- writer (roles/least_privilege.sql) is not the owner: it loads the plain way.
SELECT CASE WHEN EXISTS (SELECT 1 FROM {{target}}) THEN 0
            WHEN pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = CAST(:target AS regclass)), 'MEMBER')
            THEN 1 ELSE 0 END;
