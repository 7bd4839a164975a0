SELECT consumer, status, created_at, revoked_at FROM meta.exchange_consumers WHERE consumer = :consumer;
