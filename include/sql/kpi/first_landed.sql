-- When the platform first made rows queryable: the earliest landing in the audit log. Periods
-- that ended before it are "no data" in trends (a gap), not 0 %.
SELECT MIN(t_landed) FROM audit.ingest_log WHERE t_landed IS NOT NULL
