-- Energy readings whose primary key does not start with (meter_id, event time): the coverage
-- query (kpi/energy_coverage.sql) probes readings per meter and needs this index.
CREATE INDEX IF NOT EXISTS {{index_prefix}}_meter ON {{table}} (meter_id, {{event_time}});
