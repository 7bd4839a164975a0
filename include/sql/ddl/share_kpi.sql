-- Sharing-layer log and indicator tables. Idempotent.

-- One row per publication of one load batch of one resource to the sharing layer.
-- t_published is the commit time of that publication: a core row's sharing latency is
-- t_published(resource, row._batch_id) - t_event.
CREATE TABLE IF NOT EXISTS audit.publish_log (
    publish_id {{t_id_pk}},
    department TEXT NOT NULL,
    resource TEXT NOT NULL,
    batch_id BIGINT NOT NULL,
    sharing_type TEXT NOT NULL,
    audience TEXT NOT NULL,
    rows_published BIGINT NOT NULL,
    files_written BIGINT NOT NULL DEFAULT 0,
    t_published {{t_timestamp}} NOT NULL,
    UNIQUE (department, resource, batch_id)
);

-- Per resource and period: the measurements behind both rates.
CREATE TABLE IF NOT EXISTS kpi.resource_rates (
    period_type TEXT NOT NULL,
    period_key TEXT NOT NULL,
    period_start {{t_timestamp}} NOT NULL,
    period_end {{t_timestamp}} NOT NULL,
    measured_until {{t_timestamp}} NOT NULL,
    complete INTEGER NOT NULL,
    computed_at {{t_timestamp}} NOT NULL,
    department TEXT NOT NULL,
    resource TEXT NOT NULL,
    update_cycle TEXT NOT NULL,
    sharing_type TEXT NOT NULL,
    in_scope INTEGER NOT NULL,
    interval_minutes BIGINT NOT NULL,
    grace_minutes BIGINT NOT NULL,
    records BIGINT NOT NULL,
    records_collect_ok BIGINT NOT NULL,
    records_published BIGINT NOT NULL,
    records_share_ok BIGINT NOT NULL,
    p95_collect_s DOUBLE PRECISION,
    p95_share_s DOUBLE PRECISION,
    collect_tier TEXT NOT NULL,
    share_tier TEXT NOT NULL,
    gaps BIGINT NOT NULL,
    max_gap_s DOUBLE PRECISION,
    collected_rt INTEGER NOT NULL,
    shared_rt INTEGER,
    PRIMARY KEY (period_type, period_key, department, resource)
);

-- Per department and period, plus the pooled county row (department = 'county').
CREATE TABLE IF NOT EXISTS kpi.rates (
    period_type TEXT NOT NULL,
    period_key TEXT NOT NULL,
    period_start {{t_timestamp}} NOT NULL,
    period_end {{t_timestamp}} NOT NULL,
    measured_until {{t_timestamp}} NOT NULL,
    complete INTEGER NOT NULL,
    computed_at {{t_timestamp}} NOT NULL,
    department TEXT NOT NULL,
    resources_in_scope BIGINT NOT NULL,
    resources_collected_rt BIGINT NOT NULL,
    resources_shareable BIGINT NOT NULL,
    resources_shared_rt BIGINT NOT NULL,
    records BIGINT NOT NULL,
    records_collect_ok BIGINT NOT NULL,
    records_shareable BIGINT NOT NULL,
    records_share_ok BIGINT NOT NULL,
    collection_rate DOUBLE PRECISION,
    sharing_rate DOUBLE PRECISION,
    collection_rate_records DOUBLE PRECISION,
    sharing_rate_records DOUBLE PRECISION,
    PRIMARY KEY (period_type, period_key, department)
);

-- Every interval without records longer than the resource's cycle + grace.
CREATE TABLE IF NOT EXISTS kpi.gaps (
    period_type TEXT NOT NULL,
    period_key TEXT NOT NULL,
    department TEXT NOT NULL,
    resource TEXT NOT NULL,
    gap_start {{t_timestamp}} NOT NULL,
    gap_end {{t_timestamp}} NOT NULL,
    gap_s DOUBLE PRECISION NOT NULL
);

CREATE INDEX IF NOT EXISTS kpi_gaps_period ON kpi.gaps (period_type, period_key, department, resource);

-- Household-energy automated-collection coverage per utility, and pooled (utility = 'pooled').
CREATE TABLE IF NOT EXISTS kpi.energy_coverage (
    period_type TEXT NOT NULL,
    period_key TEXT NOT NULL,
    reference_time {{t_timestamp}} NOT NULL,
    complete INTEGER NOT NULL,
    computed_at {{t_timestamp}} NOT NULL,
    utility TEXT NOT NULL,
    departments TEXT NOT NULL,
    meters_active BIGINT,
    meters_covered BIGINT,
    coverage DOUBLE PRECISION,
    status TEXT NOT NULL,
    PRIMARY KEY (period_type, period_key, utility)
);
