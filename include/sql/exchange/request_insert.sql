INSERT INTO meta.access_requests (consumer, department, resource, code, fields, purpose, legal_basis, source, status,
                                  submitted_at, review_due_at, reviewed_at, answer_due_at, decided_at, reason)
VALUES (:consumer, :department, :resource, :code, :fields, :purpose, :legal_basis, :source, :status,
        :submitted_at, :review_due_at, :reviewed_at, :answer_due_at, :decided_at, :reason)
RETURNING request_id;
