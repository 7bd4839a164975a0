"""Row and batch checks. Each check returns Failures; error-severity rows are quarantined."""
