INSERT INTO kpi.energy_coverage (period_type, period_key, reference_time, complete, computed_at, utility,
    departments, meters_active, meters_covered, coverage, status)
VALUES (:period_type, :period_key, :reference_time, :complete, :computed_at, :utility,
    :departments, :meters_active, :meters_covered, :coverage, :status);
