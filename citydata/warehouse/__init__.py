"""The warehouse: one set of SQL files that runs on embedded SQLite and on PostgreSQL."""
