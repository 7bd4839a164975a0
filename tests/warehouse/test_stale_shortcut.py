"""The version guard's shortcut (BatchLoad._no_stale_possible) never hides a stale row.

For a reading resource the version (event time) is part of the key, so a delivery can only be
stale against a row written by a batch opened after it; the guard's join is skipped only when
core holds no such row. Both sides are tested on both backends.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from citydata.domain.townships import NAMES
from citydata.ingest.pipeline import ingest_department
from citydata.warehouse.db import engine, qualify
from tests.helpers import drop, fetch, local_text, recent

T0 = recent()


def reading(i: int, value: float) -> dict:
    return {"meter_id": f"SW01{i:08d}", "reading_time": local_text(T0 + dt.timedelta(minutes=15 * i)),
            "reading_m3": value, "battery_pct": 80, "read_method": "auto", "district": NAMES[0]}


def values() -> dict[str, float]:
    return {r["meter_id"]: r["reading_m3"] for r in fetch("SELECT meter_id, reading_m3 FROM core.water__meter_readings")}


def test_redelivery_of_readings_corrects_rows_without_the_guard(warehouse_url: str) -> None:
    drop("water", "meter_readings", "a.csv", [reading(1, 1.0), reading(2, 2.0)])
    ingest_department("water")
    drop("water", "meter_readings", "b.csv", [reading(1, 1.5), reading(2, 2.0), reading(3, 3.0)])
    [rec] = ingest_department("water")
    assert (rec.rows_read, rec.rows_loaded, rec.rows_duplicate, rec.rows_stale) == (3, 2, 1, 0)
    assert values() == {"SW0100000001": 1.5, "SW0100000002": 2.0, "SW0100000003": 3.0}
    assert fetch("SELECT row_key FROM quality.stale_rows") == []


def test_a_row_of_a_later_batch_still_makes_an_equal_version_stale(warehouse_url: str) -> None:
    """A load opened later but committed first wrote the key: the guard runs and keeps its row."""
    drop("water", "meter_readings", "a.csv", [reading(1, 1.0), reading(2, 2.0)])
    ingest_department("water")
    with engine().begin() as conn:  # as if a batch opened after the next one had written row 1
        table = qualify("core", "water__meter_readings", conn.dialect.name)
        conn.execute(text(f"UPDATE {table} SET _batch_id = 1000000 WHERE meter_id = 'SW0100000001'"))
    drop("water", "meter_readings", "b.csv", [reading(1, 9.0), reading(2, 9.0)])
    [rec] = ingest_department("water")
    assert (rec.rows_read, rec.rows_loaded, rec.rows_stale) == (2, 1, 1)
    assert values() == {"SW0100000001": 1.0, "SW0100000002": 9.0}
    [stale] = fetch("SELECT row_key FROM quality.stale_rows")
    assert stale["row_key"].startswith("SW0100000001|")
