INSERT INTO audit.publish_log (department, resource, batch_id, sharing_type, audience, rows_published,
                               files_written, t_published)
VALUES (:department, :resource, :batch_id, :sharing_type, :audience, :rows_published, :files_written, :t_published);
