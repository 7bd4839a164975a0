-- Advance a pull's watermark; runs in the same transaction as the load it covers.
INSERT INTO meta.watermarks (department, resource, source, watermark, updated_at)
VALUES (:department, :resource, :source, :watermark, :updated_at)
ON CONFLICT (department, resource, source) DO UPDATE
SET watermark = excluded.watermark, updated_at = excluded.updated_at;
