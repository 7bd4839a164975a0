INSERT INTO kpi.rates (period_type, period_key, period_start, period_end, measured_until, complete, computed_at,
    department, resources_in_scope, resources_collected_rt, resources_shareable, resources_shared_rt,
    records, records_collect_ok, records_shareable, records_share_ok,
    collection_rate, sharing_rate, collection_rate_records, sharing_rate_records)
VALUES (:period_type, :period_key, :period_start, :period_end, :measured_until, :complete, :computed_at,
    :department, :resources_in_scope, :resources_collected_rt, :resources_shareable, :resources_shared_rt,
    :records, :records_collect_ok, :records_shareable, :records_share_ok,
    :collection_rate, :sharing_rate, :collection_rate_records, :sharing_rate_records);
