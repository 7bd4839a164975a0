-- Every consumer any request names (their PostgreSQL roles are kept by setup-roles).
SELECT DISTINCT consumer FROM meta.access_requests WHERE status = 'approved';
