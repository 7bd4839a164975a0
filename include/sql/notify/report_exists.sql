SELECT 1 FROM quality.notifications WHERE report_key = :report_key LIMIT 1;
