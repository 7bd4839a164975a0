UPDATE quality.quarantine
SET errors = :errors
WHERE quarantine_id = :quarantine_id AND status = 'open';
