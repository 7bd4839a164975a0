-- Quarantined rows of the reported batches, in file order (streamed; the caller caps samples).
SELECT q.batch_id, q.resource, q.source, q.row_number, q.record, q.errors
FROM quality.quarantine q
WHERE q.batch_id IN :batch_ids
ORDER BY q.batch_id, q.row_number;
