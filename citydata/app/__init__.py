"""citydata/app."""
