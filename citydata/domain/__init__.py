"""citydata/domain."""
