-- Per resource and period: record counts, records within the real-time threshold and the
-- p95 collection and sharing latencies (nearest-rank: the value at rank ceil(0.95 n) of the
-- ordered latencies, computed with ROW_NUMBER so it is the same on SQLite and PostgreSQL).
--   t_event     = the resource's event-time column in core
--   t_landed    = audit.ingest_log.t_landed of the row's _batch_id (commit of its load)
--   t_published = audit.publish_log.t_published of that batch (commit of its publication)
-- A record counts in the period when t_event is in [start, until) and it had landed by
-- as_of. A record not published by as_of has no sharing latency: it ranks after every
-- published one (infinitely late) and is never within the threshold.
WITH rec AS (
    SELECT {{collect_s}} AS collect_s,
           CASE WHEN p.t_published IS NOT NULL AND p.t_published <= :as_of THEN {{share_s}} END AS share_s
    FROM {{core}} AS c
    JOIN audit.ingest_log AS l ON l.batch_id = c._batch_id
    LEFT JOIN audit.publish_log AS p
           ON p.department = :department AND p.resource = :resource AND p.batch_id = c._batch_id
    WHERE c.{{event_time}} >= :start AND c.{{event_time}} < :until
      AND l.t_landed IS NOT NULL AND l.t_landed <= :as_of
),
ranked AS (
    SELECT collect_s, share_s,
           ROW_NUMBER() OVER (ORDER BY collect_s) AS rn_c,
           ROW_NUMBER() OVER (ORDER BY CASE WHEN share_s IS NULL THEN 1 ELSE 0 END, share_s) AS rn_s,
           COUNT(*) OVER () AS n
    FROM rec
)
SELECT COUNT(*) AS records,
       COALESCE(SUM(CASE WHEN collect_s <= :threshold_s THEN 1 ELSE 0 END), 0) AS records_collect_ok,
       COALESCE(SUM(CASE WHEN share_s IS NOT NULL THEN 1 ELSE 0 END), 0) AS records_published,
       COALESCE(SUM(CASE WHEN share_s <= :threshold_s THEN 1 ELSE 0 END), 0) AS records_share_ok,
       MAX(CASE WHEN rn_c = (95 * n + 99) / 100 THEN collect_s END) AS p95_collect_s,
       MAX(CASE WHEN rn_s = (95 * n + 99) / 100 THEN share_s END) AS p95_share_s,
       MAX(CASE WHEN rn_s = (95 * n + 99) / 100 AND share_s IS NULL THEN 1 ELSE 0 END) AS p95_share_unpublished
FROM ranked;
