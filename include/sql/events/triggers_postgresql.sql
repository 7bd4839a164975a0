-- The four triggers that keep audit.batch_events exact for one core table (PostgreSQL:
-- once per statement, over its transition tables: a load of a million rows is one aggregate).
CREATE TRIGGER {{trigger}}_ins AFTER INSERT ON {{table}} REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION audit.count_batch_events({{department}}, {{resource}}, {{event_column}});

CREATE TRIGGER {{trigger}}_upd AFTER UPDATE ON {{table}} REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION audit.count_batch_events({{department}}, {{resource}}, {{event_column}});

CREATE TRIGGER {{trigger}}_del AFTER DELETE ON {{table}} REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION audit.count_batch_events({{department}}, {{resource}}, {{event_column}});

CREATE TRIGGER {{trigger}}_trunc AFTER TRUNCATE ON {{table}}
    FOR EACH STATEMENT EXECUTE FUNCTION audit.count_batch_events({{department}}, {{resource}}, {{event_column}});
