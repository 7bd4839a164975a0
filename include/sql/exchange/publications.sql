-- Publications of one resource after a sequence number, in the order they committed
-- (publishers of a resource queue on a lock, so publish_id grows with commit order).
SELECT publish_id, batch_id FROM audit.publish_log
WHERE department = :department AND resource = :resource AND publish_id > :after_seq AND rows_published > 0
ORDER BY publish_id;
