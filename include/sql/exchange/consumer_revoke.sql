UPDATE meta.exchange_consumers SET status = 'revoked', revoked_at = :now WHERE consumer = :consumer AND status = 'active';
