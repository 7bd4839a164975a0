-- Recipients that already have a message of this report (pending, sent or failed): never composed again.
SELECT recipient FROM quality.notifications WHERE report_key = :report_key;
