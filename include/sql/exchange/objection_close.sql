-- A correction closes an unresolved objection (publication, citydata.exchange.objections.close_corrected).
-- Reads and writes only the columns the loading roles hold (roles/department_writer.sql); the WHERE
-- makes it happen once.
UPDATE meta.objections
SET status = 'corrected', resolved_at = :resolved_at, resolution = :resolution, closed_by_batch = :closed_by_batch
WHERE objection_id = :objection_id AND status IN ('open', 'accepted');
