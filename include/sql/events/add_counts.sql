-- Counts computed by the load itself for rows it COPYed into core with the insert trigger
-- disabled (the direct first load, citydata.warehouse.load): added, as the trigger would.
INSERT INTO audit.batch_events AS h (department, resource, t_event, batch_id, n)
SELECT :department, :resource, u.t_event, :batch_id, u.n
FROM unnest(CAST(:seconds AS TIMESTAMPTZ[]), CAST(:counts AS BIGINT[])) AS u(t_event, n)
ON CONFLICT (department, resource, t_event, batch_id) DO UPDATE SET n = h.n + excluded.n;
