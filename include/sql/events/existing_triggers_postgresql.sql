-- Names of the batch-event triggers on one core table.
SELECT tgname AS name FROM pg_trigger
WHERE tgrelid = CAST(:table AS regclass) AND tgname LIKE 'batch\_events\_%' AND NOT tgisinternal;
