UPDATE quality.quarantine
SET status = :status, resolved_batch_id = :resolved_batch_id
WHERE quarantine_id = :quarantine_id AND status = 'open';
