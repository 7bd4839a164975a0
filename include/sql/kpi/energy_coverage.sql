-- Household-energy automated-collection coverage of one utility's department at reference:
-- active residential meters (denominator) and, of those, the remote-read ones with at least
-- one automatic reading whose event time is in the 24 h before reference (numerator).
-- One index probe per meter (readings are keyed by meter and time), so the cost follows the
-- number of meters, not the day's readings.
SELECT COUNT(*) AS meters_active,
       COALESCE(SUM(CASE WHEN m.read_mode = :mode_remote AND EXISTS (
               SELECT 1
               FROM {{readings}} AS r
               JOIN audit.ingest_log AS l ON l.batch_id = r._batch_id
               WHERE r.meter_id = m.meter_id AND r.read_method = :method_auto
                 AND r.{{event_time}} >= :window_start AND r.{{event_time}} < :reference
                 AND l.t_landed IS NOT NULL AND l.t_landed <= :as_of)
           THEN 1 ELSE 0 END), 0) AS meters_covered
FROM {{meters}} AS m
WHERE m.status = :status_active AND m.customer_type = :customer_residential;
