"""citydata/ingest."""
