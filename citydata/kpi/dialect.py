"""The only dialect differences of the indicator SQL: the seconds between two timestamps.

PostgreSQL: exact (EXTRACT EPOCH of an interval, microseconds). SQLite stores UTC text
'YYYY-MM-DD HH:MM:SS.ffffff+00:00': whole seconds via strftime('%s') plus the fractional
part read from the text, so both backends give the same value to the microsecond (julianday
would round to milliseconds and lose exactness at a threshold).
"""

from __future__ import annotations


def seconds_between(later: str, earlier: str, dialect: str) -> str:
    if dialect == "postgresql":
        return f"CAST(EXTRACT(EPOCH FROM ({later} - {earlier})) AS DOUBLE PRECISION)"
    return (
        f"ROUND((CAST(strftime('%s', {later}) AS INTEGER) - CAST(strftime('%s', {earlier}) AS INTEGER))"
        f" + (CAST(substr({later}, 20, 7) AS REAL) - CAST(substr({earlier}, 20, 7) AS REAL)), 6)"
    )


def ceil_seconds(later: str, earlier: str, dialect: str) -> str:
    """Whole seconds between two timestamps, rounded up (CAST truncates toward zero, which is
    already the ceiling for negative values; SQLite may lack CEIL)."""
    exact = seconds_between(later, earlier, dialect)
    if dialect == "postgresql":
        return f"CEIL({exact})"
    return f"(CAST({exact} AS INTEGER) + ({exact} > CAST({exact} AS INTEGER)))"
