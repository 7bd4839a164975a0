INSERT INTO audit.source_names (batch_id, source_raw) VALUES (:batch_id, :source_raw);
