-- Sharing-layer table of one resource: masked copy of its core rows.
-- _batch_id is the load batch whose publication last wrote the row; _t_published that
-- publication's commit time.
CREATE TABLE IF NOT EXISTS {{table}} (
    {{columns}},
    _batch_id BIGINT NOT NULL,
    _t_published {{t_timestamp}} NOT NULL,
    PRIMARY KEY ({{primary_key}})
);

CREATE INDEX IF NOT EXISTS {{index_prefix}}_batch ON {{table}} (_batch_id);
