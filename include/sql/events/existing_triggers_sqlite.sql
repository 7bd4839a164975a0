-- Names of the batch-event triggers on one core table.
SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :table AND name LIKE 'batch\_events\_%' ESCAPE '\';
