INSERT INTO quality.notifications (message_key, report_key, kind, department, recipient, subject, run_id, message,
                                   status, attempts, created_at)
VALUES (:message_key, :report_key, :kind, :department, :recipient, :subject, :run_id, :message, 'pending', 0, :created_at)
ON CONFLICT (message_key) DO NOTHING;
