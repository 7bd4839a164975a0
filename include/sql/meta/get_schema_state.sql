-- The fingerprint of the last complete schema set-up (no row: never, or before fingerprints).
SELECT fingerprint FROM meta.schema_state WHERE id = 1;
