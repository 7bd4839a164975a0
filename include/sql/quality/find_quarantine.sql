SELECT quarantine_id, department, resource, status, record
FROM quality.quarantine
WHERE quarantine_id = :quarantine_id;
