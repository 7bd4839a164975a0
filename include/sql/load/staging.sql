-- Per-transaction staging table for one load; _row is the row's position in the source.
-- _origin: the audit batch a replayed row first came from (NULL for a delivery: this batch).
CREATE TEMP TABLE {{staging}} (
    {{columns}},
    _row BIGINT NOT NULL,
    _origin BIGINT
);
