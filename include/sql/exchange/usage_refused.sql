-- Refused calls per status in a period.
SELECT status, COUNT(*) AS calls FROM audit.access_log
WHERE status >= 400 AND t_request >= :start AND t_request < :end
GROUP BY status;
