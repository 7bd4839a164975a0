-- A failed attempt: transient errors keep the message pending (retried); permanent ones close it.
UPDATE quality.notifications
SET attempts = attempts + 1, last_error = :last_error,
    status = CASE WHEN :permanent = 1 THEN 'failed' ELSE status END
WHERE notification_id = :notification_id AND status = 'pending';
