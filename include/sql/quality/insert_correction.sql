INSERT INTO quality.quarantine_corrections (quarantine_id, record, source, corrected_at)
VALUES (:quarantine_id, :record, :source, :corrected_at);
