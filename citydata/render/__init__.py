"""citydata/render."""
