INSERT INTO quality.notified_batches (batch_id, report_key, created_at)
VALUES (:batch_id, :report_key, :created_at)
ON CONFLICT (batch_id) DO NOTHING;
