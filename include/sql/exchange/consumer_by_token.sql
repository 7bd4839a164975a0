-- The active consumer a bearer token belongs to (the token's SHA-256 is the lookup key).
SELECT consumer FROM meta.exchange_consumers WHERE token_hash = :token_hash AND status = 'active';
