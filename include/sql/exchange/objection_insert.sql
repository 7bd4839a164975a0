INSERT INTO meta.objections (consumer, department, resource, code, row_key, field, reason, status, value_digest, raised_at)
VALUES (:consumer, :department, :resource, :code, :row_key, :field, :reason, 'open', :value_digest, :raised_at)
RETURNING objection_id;
