-- Per-transaction staging table for one load; _row is the row's position in the source.
CREATE TEMP TABLE {{staging}} (
    {{columns}},
    _row BIGINT NOT NULL
);
