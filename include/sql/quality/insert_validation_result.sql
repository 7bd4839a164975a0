INSERT INTO quality.validation_results
    (batch_id, department, resource, expectation, column_name, severity, level, evaluated, failed, description, created_at)
VALUES
    (:batch_id, :department, :resource, :expectation, :column_name, :severity, :level, :evaluated, :failed, :description,
     :created_at);
