-- Core table of one data resource; columns come from the registry.
-- _batch_id points at the audit.ingest_log row whose load last changed the row.
CREATE TABLE IF NOT EXISTS {{table}} (
    {{columns}},
    _batch_id BIGINT NOT NULL,
    PRIMARY KEY ({{primary_key}})
);

CREATE INDEX IF NOT EXISTS {{index_prefix}}_batch ON {{table}} (_batch_id);

CREATE INDEX IF NOT EXISTS {{index_prefix}}_event ON {{table}} ({{event_time}});
