-- Rows of one publication after a key (still carrying that publication's batch).
SELECT COUNT(*) FROM {{table}} WHERE _batch_id = :batch_id {{after}};
