SELECT * FROM meta.access_requests WHERE request_id = :request_id;
