SELECT * FROM kpi.rates WHERE period_type = :period_type AND period_key = :period_key;
