-- one statement
-- Statement-level trigger function for core tables: folds the transition tables of one
-- INSERT/UPDATE/DELETE into audit.batch_events. Arguments: department, resource, event-time column.
CREATE OR REPLACE FUNCTION audit.count_batch_events() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM audit.batch_events WHERE department = TG_ARGV[0] AND resource = TG_ARGV[1];
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        EXECUTE format(
            'UPDATE audit.batch_events AS h SET n = h.n - g.n
             FROM (SELECT date_trunc(''second'', %I) AS t_event, _batch_id AS batch_id, count(*) AS n
                   FROM old_rows WHERE %I IS NOT NULL GROUP BY 1, 2) AS g
             WHERE h.department = $1 AND h.resource = $2 AND h.t_event = g.t_event AND h.batch_id = g.batch_id',
            TG_ARGV[2], TG_ARGV[2]) USING TG_ARGV[0], TG_ARGV[1];
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        EXECUTE format(
            'INSERT INTO audit.batch_events AS h (department, resource, t_event, batch_id, n)
             SELECT $1, $2, date_trunc(''second'', %I), _batch_id, count(*)
             FROM new_rows WHERE %I IS NOT NULL GROUP BY 3, 4
             ON CONFLICT (department, resource, t_event, batch_id) DO UPDATE SET n = h.n + excluded.n',
            TG_ARGV[2], TG_ARGV[2]) USING TG_ARGV[0], TG_ARGV[1];
    END IF;
    RETURN NULL;
END
$fn$;
