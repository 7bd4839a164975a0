-- The sharing API pages a resource publication by publication, in primary-key order inside one:
-- this index makes each page an index range scan.
CREATE INDEX IF NOT EXISTS {{index_name}} ON {{table}} (_batch_id, {{primary_key}});
