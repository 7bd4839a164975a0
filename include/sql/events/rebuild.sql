-- Recount one resource from its core table: when its triggers are first created (an existing
-- warehouse, or a changed event-time column), so the counts start exact.
DELETE FROM audit.batch_events WHERE department = :department AND resource = :resource;

INSERT INTO audit.batch_events (department, resource, t_event, batch_id, n)
SELECT :department, :resource, {{second}}, _batch_id, COUNT(*)
FROM {{table}}
WHERE {{event_time}} IS NOT NULL
GROUP BY {{second}}, _batch_id;
