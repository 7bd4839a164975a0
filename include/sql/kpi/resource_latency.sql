-- Per resource and period: record counts, records within the real-time threshold and the
-- p95 collection and sharing latencies (nearest rank: the value at rank ceil(0.95 n) of the
-- ordered latencies), read from the per-batch event-second counts (audit.batch_events), not
-- the core rows. Latencies are whole seconds, rounded up (never flattering): records of
-- different batches then share latency values, and the ranking runs over the few thousand
-- distinct values of a day, not over its rows (a day costs the same at 10^3 or 10^7 rows).
--   t_event     = the event second of the record (citydata.warehouse.event_counts)
--   t_landed    = audit.ingest_log.t_landed of the row's _batch_id (commit of its load)
--   t_published = audit.publish_log.t_published of that batch (commit of its publication)
-- A record counts in the period when t_event is in [start, until) and it had landed by
-- as_of. A record not published by as_of has no sharing latency: it ranks after every
-- published one (infinitely late) and is never within the threshold.
WITH rec AS (
    SELECT SUM(h.n) AS n,
           {{collect_s}} AS collect_s,
           CASE WHEN p.t_published IS NOT NULL AND p.t_published <= :as_of THEN {{share_s}} END AS share_s
    FROM audit.batch_events AS h
    JOIN audit.ingest_log AS l ON l.batch_id = h.batch_id
    LEFT JOIN audit.publish_log AS p
           ON p.department = :department AND p.resource = :resource AND p.batch_id = h.batch_id
    WHERE h.department = :department AND h.resource = :resource
      AND h.t_event >= :start AND h.t_event < :until AND h.n > 0
      AND l.t_landed IS NOT NULL AND l.t_landed <= :as_of
    GROUP BY 2, 3
),
ranked AS (
    SELECT n, collect_s, share_s,
           SUM(n) OVER (ORDER BY collect_s ROWS UNBOUNDED PRECEDING) AS upto_c,
           SUM(n) OVER (ORDER BY CASE WHEN share_s IS NULL THEN 1 ELSE 0 END, share_s
                        ROWS UNBOUNDED PRECEDING) AS upto_s,
           (95 * CAST(SUM(n) OVER () AS BIGINT) + 99) / 100 AS p95_rank
    FROM rec
)
SELECT COALESCE(SUM(n), 0) AS records,
       COALESCE(SUM(CASE WHEN collect_s <= :threshold_s THEN n ELSE 0 END), 0) AS records_collect_ok,
       COALESCE(SUM(CASE WHEN share_s IS NOT NULL THEN n ELSE 0 END), 0) AS records_published,
       COALESCE(SUM(CASE WHEN share_s <= :threshold_s THEN n ELSE 0 END), 0) AS records_share_ok,
       MIN(CASE WHEN upto_c >= p95_rank THEN collect_s END) AS p95_collect_s,
       MIN(CASE WHEN upto_s >= p95_rank AND share_s IS NOT NULL THEN share_s END) AS p95_share_s,
       CASE WHEN COALESCE(SUM(CASE WHEN share_s IS NOT NULL THEN n ELSE 0 END), 0) < MAX(p95_rank)
            THEN 1 ELSE 0 END AS p95_share_unpublished
FROM ranked;
