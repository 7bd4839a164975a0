SELECT department, resource, status, COUNT(*) AS n
FROM quality.quarantine
WHERE (CAST(:department AS TEXT) IS NULL OR department = :department)
GROUP BY department, resource, status
ORDER BY department, resource, status;
