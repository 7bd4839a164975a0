-- Recomputing a period replaces it: every stored result of the period goes first.
DELETE FROM kpi.resource_rates WHERE period_type = :period_type AND period_key = :period_key;
DELETE FROM kpi.rates WHERE period_type = :period_type AND period_key = :period_key;
DELETE FROM kpi.gaps WHERE period_type = :period_type AND period_key = :period_key;
DELETE FROM kpi.energy_coverage WHERE period_type = :period_type AND period_key = :period_key;
