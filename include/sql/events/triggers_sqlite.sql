-- The triggers that keep audit.batch_events exact for one core table (SQLite has row
-- triggers only). Each CREATE TRIGGER is one statement: its inner statements end mid-line.
CREATE TRIGGER {{trigger}}_ins AFTER INSERT ON {{table}} WHEN NEW.{{event_time}} IS NOT NULL BEGIN
    INSERT INTO audit.batch_events (department, resource, t_event, batch_id, n)
    VALUES ({{department}}, {{resource}}, {{new_second}}, NEW._batch_id, 1)
    ON CONFLICT (department, resource, t_event, batch_id) DO UPDATE SET n = n + 1; END;

CREATE TRIGGER {{trigger}}_upd AFTER UPDATE ON {{table}}
WHEN NEW._batch_id IS NOT OLD._batch_id OR NEW.{{event_time}} IS NOT OLD.{{event_time}} BEGIN
    UPDATE audit.batch_events SET n = n - 1
    WHERE department = {{department}} AND resource = {{resource}} AND t_event = {{old_second}}
      AND batch_id = OLD._batch_id; INSERT INTO audit.batch_events (department, resource, t_event, batch_id, n)
    SELECT {{department}}, {{resource}}, {{new_second}}, NEW._batch_id, 1 WHERE NEW.{{event_time}} IS NOT NULL
    ON CONFLICT (department, resource, t_event, batch_id) DO UPDATE SET n = n + 1; END;

CREATE TRIGGER {{trigger}}_del AFTER DELETE ON {{table}} WHEN OLD.{{event_time}} IS NOT NULL BEGIN
    UPDATE audit.batch_events SET n = n - 1
    WHERE department = {{department}} AND resource = {{resource}} AND t_event = {{old_second}}
      AND batch_id = OLD._batch_id; END;
