SELECT MAX(computed_at) FROM kpi.rates
