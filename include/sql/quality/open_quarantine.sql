-- Quarantined rows of one resource still waiting (status open), with their latest correction.
-- {{lock}} is FOR UPDATE on PostgreSQL (a concurrent replay waits, then skips what this one resolved).
SELECT q.quarantine_id, q.batch_id, q.source, q.row_number, q.record, q.errors, q.created_at,
       (SELECT c.record FROM quality.quarantine_corrections AS c
        WHERE c.quarantine_id = q.quarantine_id
        ORDER BY c.correction_id DESC
        LIMIT 1) AS corrected
FROM quality.quarantine AS q
WHERE q.department = :department AND q.resource = :resource AND q.status = 'open'
ORDER BY q.quarantine_id
{{lock}};
