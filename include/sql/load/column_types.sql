-- PostgreSQL only: the server type of each column of a load target (core or staging), so
-- rows are sent in binary COPY only where each one's encoding matches (citydata.warehouse.pg_binary).
SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
FROM pg_attribute AS a
WHERE a.attrelid = CAST(:target AS regclass) AND a.attnum > 0 AND NOT a.attisdropped;
