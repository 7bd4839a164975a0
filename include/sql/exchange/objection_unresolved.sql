-- Objections of one resource still waiting for a correction (open, or accepted by the owner).
SELECT objection_id, row_key, field, value_digest, status FROM meta.objections
WHERE department = :department AND resource = :resource AND status IN ('open', 'accepted')
ORDER BY objection_id;
