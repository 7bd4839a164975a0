-- The same rows as range_rows.sql, as CSV from COPY (PostgreSQL): timestamps as epoch microseconds.
COPY (SELECT {{select}} FROM {{table}} WHERE _batch_id = %(batch_id)s {{after}} {{until}} ORDER BY {{primary_key}})
TO STDOUT (FORMAT csv);
