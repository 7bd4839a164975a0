-- One transition of the request state machine; the WHERE makes it happen once (rowcount 1).
UPDATE meta.access_requests
SET status = :new_status,
    reviewed_at = COALESCE(CAST(:reviewed_at AS {{t_timestamp}}), reviewed_at),
    answer_due_at = COALESCE(CAST(:answer_due_at AS {{t_timestamp}}), answer_due_at),
    decided_at = COALESCE(CAST(:decided_at AS {{t_timestamp}}), decided_at),
    revoked_at = COALESCE(CAST(:revoked_at AS {{t_timestamp}}), revoked_at),
    reason = COALESCE(CAST(:reason AS TEXT), reason)
WHERE request_id = :request_id AND status = :old_status;
