INSERT INTO kpi.resource_rates (period_type, period_key, period_start, period_end, measured_until, complete,
    computed_at, department, resource, update_cycle, sharing_type, in_scope, interval_minutes, grace_minutes,
    records, records_collect_ok, records_published, records_share_ok, p95_collect_s, p95_share_s,
    collect_tier, share_tier, gaps, max_gap_s, collected_rt, shared_rt)
VALUES (:period_type, :period_key, :period_start, :period_end, :measured_until, :complete,
    :computed_at, :department, :resource, :update_cycle, :sharing_type, :in_scope, :interval_minutes, :grace_minutes,
    :records, :records_collect_ok, :records_published, :records_share_ok, :p95_collect_s, :p95_share_s,
    :collect_tier, :share_tier, :gaps, :max_gap_s, :collected_rt, :shared_rt);
