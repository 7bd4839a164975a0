SELECT expectation, column_name, severity, level, evaluated, failed, description
FROM quality.validation_results
WHERE batch_id = :batch_id
ORDER BY result_id;
