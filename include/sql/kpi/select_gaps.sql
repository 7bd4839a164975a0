SELECT * FROM kpi.gaps WHERE period_type = :period_type AND period_key = :period_key
ORDER BY department, resource, gap_start;
