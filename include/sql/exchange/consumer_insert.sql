INSERT INTO meta.exchange_consumers (consumer, token_hash, status, created_at) VALUES (:consumer, :token_hash, 'active', :now)
ON CONFLICT (consumer) DO UPDATE SET token_hash = excluded.token_hash, status = 'active', created_at = excluded.created_at,
    revoked_at = NULL;
