-- Gaps of one resource in a period: stretches without any record longer than the resource's
-- update interval + grace (max_gap_s), between consecutive event times, counting the
-- period start and the measured end (period end, or as_of while in progress) as boundaries.
WITH ev AS (
    SELECT DISTINCT c.{{event_time}} AS t
    FROM {{core}} AS c
    JOIN audit.ingest_log AS l ON l.batch_id = c._batch_id
    WHERE c.{{event_time}} >= :start AND c.{{event_time}} < :until
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
