-- Rows served per resource in a period: consumers, calls, rows (successful row reads only).
SELECT resource, COUNT(DISTINCT consumer) AS consumers, COUNT(*) AS calls, SUM(rows_returned) AS rows_served
FROM audit.access_log
WHERE status = 200 AND rows_returned > 0 AND t_request >= :start AND t_request < :end AND resource IS NOT NULL
GROUP BY resource;
