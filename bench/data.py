"""Deterministic synthetic deliveries for the benchmarks (vectorised: 1M rows in about a second).

Water smart-meter readings as a department would send them: one day of 15-minute readings
per meter (yesterday, Asia/Shanghai, naive local times, so the suites' freshness checks
pass), ids, codes and ranges from the shared vocabulary (citydata.domain.vocab), and a small
share of defective rows so the quarantine path is exercised too. Same rows for the same
``rows``, ``seed`` and day.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

READINGS_PER_DAY = 96
DEFECT_EVERY = 1000  # one row in 1000 has an unparseable reading_m3 (quarantined)
COLUMNS = ["meter_id", "reading_time", "reading_m3", "battery_pct", "read_method", "district"]


def reading_day() -> dt.date:
    """Yesterday in Asia/Shanghai: recent enough for every freshness check, never in the future."""
    from citydata.domain.time import LOCAL_TZ

    return dt.datetime.now(LOCAL_TZ).date() - dt.timedelta(days=1)


def meter_readings(rows: int, seed: int = 20261128, day: dt.date | None = None) -> pa.Table:
    """``rows`` readings: meters × 15-minute slots of ``day`` (local time), keys unique."""
    from citydata.domain.townships import NAMES

    rng = np.random.default_rng(seed)
    i = np.arange(rows, dtype=np.int64)
    meter = i // READINGS_PER_DAY
    slot = i % READINGS_PER_DAY
    district_no = meter % len(NAMES)  # SW<district 01-17><8 digits>, the water meter id format
    meter_id = pc.binary_join_element_wise(
        "SW", pc.utf8_lpad(pa.array(district_no + 1).cast(pa.string()), 2, "0"),
        pc.utf8_lpad(pa.array(meter).cast(pa.string()), 8, "0"), "")
    base = np.datetime64((day or reading_day()).isoformat(), "s")
    times = pa.array(base + slot * np.timedelta64(15, "m"), pa.timestamp("s"))
    reading_time = pc.strftime(times, format="%Y-%m-%d %H:%M:%S")
    reading = np.round(meter * 0.37 % 900 + slot * 0.011 + rng.random(rows) * 0.01, 3)
    reading_text = pa.array(reading).cast(pa.string())
    bad = pa.array(i % DEFECT_EVERY == DEFECT_EVERY - 1)
    reading_text = pc.if_else(bad, pa.scalar("n/a"), reading_text)
    battery = pa.array(rng.integers(5, 101, rows))
    method = pa.array(np.where(rng.random(rows) < 0.9, "auto", "manual"))
    district = pa.array(np.array(NAMES)[district_no])
    return pa.table([meter_id, reading_time, reading_text, battery, method, district], names=COLUMNS)


def defects(rows: int) -> int:
    return rows // DEFECT_EVERY


def write_csv(table: pa.Table, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    pacsv.write_csv(table, tmp, pacsv.WriteOptions(quoting_style="none"))
    tmp.rename(path)
    return path
