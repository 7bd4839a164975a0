SELECT consumer, status, created_at, revoked_at FROM meta.exchange_consumers ORDER BY consumer;
