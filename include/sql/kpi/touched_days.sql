-- The Asia/Shanghai calendar days of the events of every batch that landed since :since: the
-- days, months and quarters (…) new data falls in, recomputed by an asset-triggered kpi_rates run.
-- {{local_day}} is the dialect's expression for the local date of e.t_event (UTC+8, no DST).
SELECT DISTINCT {{local_day}} AS day
FROM audit.batch_events e
JOIN audit.ingest_log l ON l.batch_id = e.batch_id
WHERE l.t_landed >= :since AND e.n <> 0
