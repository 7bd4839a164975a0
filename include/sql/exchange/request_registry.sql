-- The pre-approved requests the registry's consumers: lists became (any status).
SELECT request_id, consumer, department, resource, status FROM meta.access_requests WHERE source = 'registry';
