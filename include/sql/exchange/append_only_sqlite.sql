-- audit.access_log is append-only: UPDATE and DELETE abort (SQLite).
CREATE TRIGGER IF NOT EXISTS access_log_no_update BEFORE UPDATE ON audit.access_log BEGIN SELECT RAISE(ABORT, 'access log is append-only'); END;

CREATE TRIGGER IF NOT EXISTS access_log_no_delete BEFORE DELETE ON audit.access_log BEGIN SELECT RAISE(ABORT, 'access log is append-only'); END;
