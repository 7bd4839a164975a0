-- One transition of the objection state machine; the WHERE makes it happen once.
UPDATE meta.objections
SET status = :new_status,
    accepted_at = COALESCE(CAST(:accepted_at AS {{t_timestamp}}), accepted_at),
    resolved_at = COALESCE(CAST(:resolved_at AS {{t_timestamp}}), resolved_at),
    resolution = COALESCE(CAST(:resolution AS TEXT), resolution),
    closed_by_batch = COALESCE(CAST(:closed_by_batch AS BIGINT), closed_by_batch)
WHERE objection_id = :objection_id AND status = :old_status;
