INSERT INTO quality.quarantine (batch_id, department, resource, source, row_number, record, errors, status, created_at)
VALUES (:batch_id, :department, :resource, :source, :row_number, :record, :errors, 'open', :created_at);
