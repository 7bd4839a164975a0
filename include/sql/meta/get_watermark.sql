-- The incremental position of one pulled source (NULL row: never pulled).
SELECT watermark
FROM meta.watermarks
WHERE department = :department AND resource = :resource AND source = :source;
