-- How many core rows each load batch holds per event second, per resource. The indicators
-- read these counts instead of the core rows (include/sql/kpi/): within a batch t_landed and
-- t_published are constant, so a record's latencies depend only on its event time, and a
-- day of any number of rows is at most 86,400 seconds per batch. Kept exact by triggers on
-- every core table (triggers_*.sql), whatever writes the rows; entries whose rows have all
-- moved to a later batch keep n = 0 (the writer role may not delete), and readers skip them.
CREATE TABLE IF NOT EXISTS audit.batch_events (
    department TEXT NOT NULL,
    resource TEXT NOT NULL,
    t_event {{t_timestamp}} NOT NULL,
    batch_id BIGINT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (department, resource, t_event, batch_id)
);
