-- When the department's last quality report was composed (NULL: never).
SELECT MAX(created_at) AS last_report
FROM quality.notifications
WHERE kind = 'quality' AND department = :department;
