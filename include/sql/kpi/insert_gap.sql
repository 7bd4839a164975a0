INSERT INTO kpi.gaps (period_type, period_key, department, resource, gap_start, gap_end, gap_s)
VALUES (:period_type, :period_key, :department, :resource, :gap_start, :gap_end, :gap_s);
