SELECT * FROM kpi.energy_coverage WHERE period_type = :period_type AND period_key = :period_key;
