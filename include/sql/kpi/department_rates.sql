-- Department rates and the pooled county row for one period, from kpi.resource_rates.
-- The county row counts resources of every department together (it is not the mean of
-- the department rates). Rates are NULL when their denominator is 0.
WITH r AS (
    SELECT department,
           1 AS in_scope,
           collected_rt,
           CASE WHEN sharing_type <> '不予共享' THEN 1 ELSE 0 END AS shareable,
           COALESCE(shared_rt, 0) AS shared_rt,
           records,
           records_collect_ok,
           CASE WHEN sharing_type <> '不予共享' THEN records ELSE 0 END AS records_shareable,
           CASE WHEN sharing_type <> '不予共享' THEN records_share_ok ELSE 0 END AS records_share_ok
    FROM kpi.resource_rates
    WHERE period_type = :period_type AND period_key = :period_key AND in_scope = 1
),
g AS (
    SELECT department, SUM(in_scope) AS n, SUM(collected_rt) AS c, SUM(shareable) AS sn, SUM(shared_rt) AS s,
           SUM(records) AS rec, SUM(records_collect_ok) AS rec_c, SUM(records_shareable) AS rec_sn,
           SUM(records_share_ok) AS rec_s
    FROM r GROUP BY department
    UNION ALL
    SELECT 'county', COALESCE(SUM(in_scope), 0), COALESCE(SUM(collected_rt), 0), COALESCE(SUM(shareable), 0),
           COALESCE(SUM(shared_rt), 0), COALESCE(SUM(records), 0), COALESCE(SUM(records_collect_ok), 0),
           COALESCE(SUM(records_shareable), 0), COALESCE(SUM(records_share_ok), 0)
    FROM r
)
SELECT department,
       n AS resources_in_scope, c AS resources_collected_rt, sn AS resources_shareable, s AS resources_shared_rt,
       rec AS records, rec_c AS records_collect_ok, rec_sn AS records_shareable, rec_s AS records_share_ok,
       CASE WHEN n > 0 THEN CAST(c AS DOUBLE PRECISION) / n END AS collection_rate,
       CASE WHEN sn > 0 THEN CAST(s AS DOUBLE PRECISION) / sn END AS sharing_rate,
       CASE WHEN rec > 0 THEN CAST(rec_c AS DOUBLE PRECISION) / rec END AS collection_rate_records,
       CASE WHEN rec_sn > 0 THEN CAST(rec_s AS DOUBLE PRECISION) / rec_sn END AS sharing_rate_records
FROM g;
