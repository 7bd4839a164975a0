-- Gaps of one resource in a period: stretches without any record longer than the resource's
-- update interval + grace (max_gap_s), between consecutive event seconds, counting the
-- period start and the measured end (period end, or as_of while in progress) as boundaries.
-- Read from the per-batch event-second counts (audit.batch_events), like resource_latency.sql.
WITH ev AS (
    SELECT DISTINCT h.t_event AS t
    FROM audit.batch_events AS h
    JOIN audit.ingest_log AS l ON l.batch_id = h.batch_id
    WHERE h.department = :department AND h.resource = :resource
      AND h.t_event >= :start AND h.t_event < :until AND h.n > 0
      AND l.t_landed IS NOT NULL AND l.t_landed <= :as_of
),
pts AS (
    SELECT t FROM ev
    UNION ALL SELECT CAST(:start AS {{t_timestamp}})
    UNION ALL SELECT CAST(:until AS {{t_timestamp}})
),
seq AS (
    SELECT LAG(t) OVER (ORDER BY t) AS gap_start, t AS gap_end
    FROM pts
)
SELECT gap_start, gap_end, {{gap_s}} AS gap_s
FROM seq
WHERE gap_start IS NOT NULL AND {{gap_s}} > :max_gap_s
ORDER BY gap_start;
