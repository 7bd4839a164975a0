UPDATE quality.notifications
SET status = 'sent', attempts = attempts + 1, last_error = NULL, transport = :transport, sent_at = :sent_at
WHERE notification_id = :notification_id AND status = 'pending';
