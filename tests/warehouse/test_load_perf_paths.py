"""The fast load paths give exactly the results of the plain ones, on both backends.

BatchLoad is driven directly (typed rows → stage → upsert → close) so these tests cover the
load itself: the first-load shortcut, the UPDATE-changed + INSERT-new split on PostgreSQL,
the exact accounting (loaded = inserted or changed, duplicates = the rest) and the fast
timestamp formatting used to stage rows.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from sqlalchemy import text

from citydata.bootstrap import ensure_schema
from citydata.ingest.coerce import coerce_batch
from citydata.registry import load_registry
from citydata.warehouse import load as load_mod
from citydata.warehouse.db import qualify, transaction
from citydata.warehouse.load import BatchLoad, utc_text

COLUMNS = ["meter_id", "reading_time", "reading_m3", "battery_pct", "read_method", "district"]


def _rows(n: int, *, start: int = 0, bump: float = 0.0) -> list[dict]:
    """n readings; reading_time naive local (Asia/Shanghai), some with fractions of a second."""
    base = dt.datetime(2026, 11, 1, 8, 0, 0)
    out = []
    for i in range(start, start + n):
        t = base + dt.timedelta(minutes=15 * (i % 4), microseconds=(i * 7919) % 1_000_000 if i % 3 == 0 else 0)
        out.append({"meter_id": f"WM{i // 4:06d}", "reading_time": t.isoformat(sep=" "),
                    "reading_m3": f"{i * 0.5 + bump:.3f}", "battery_pct": str(i % 101) if i % 5 else None,
                    "read_method": "auto", "district": "界湖街道"})
    return out


def _deliver(url: str, rows: list[dict], source: str) -> tuple[int, int, bool]:
    """One delivery through BatchLoad; returns (rows_loaded, rows_duplicate, first-load shortcut taken)."""
    resource = load_registry().resource("water", "meter_readings")
    with transaction(url) as conn:
        load = BatchLoad(conn, resource, "test", source)
        for start in range(0, len(rows), 7):  # several batches: staging appends, positions continue
            chunk = rows[start : start + 7]
            batch = pa.RecordBatch.from_pylist(chunk, schema=pa.schema([(c, pa.string()) for c in COLUMNS]))
            coerced = coerce_batch(batch, resource)
            load.stage(coerced.table, pa.array(range(start, start + len(chunk)), pa.int64()))
        loaded = load.upsert()
        duplicate = len(rows) - loaded
        load.close(status="loaded", rows_read=len(rows), rows_loaded=loaded, rows_quarantined=0,
                   rows_duplicate=duplicate, reason=None)
    return loaded, duplicate, load.first_load


def _core(url: str) -> list[tuple]:
    with transaction(url) as conn:
        table = qualify("core", "water__meter_readings", conn.dialect.name)
        rows = conn.execute(text(f"SELECT {', '.join(COLUMNS)} FROM {table} ORDER BY meter_id, reading_time")).all()
    return [tuple(r) for r in rows]


def _indexes(url: str) -> list[tuple]:
    with transaction(url) as conn:
        if conn.dialect.name != "postgresql":
            return conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                                     "AND tbl_name = 'core__water__meter_readings' ORDER BY name")).all()
        return [tuple(r) for r in conn.execute(text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'core' "
            "AND tablename = 'water__meter_readings' ORDER BY indexname")).all()]


def _truncate(url: str) -> None:
    with transaction(url) as conn:
        conn.execute(text(f"DELETE FROM {qualify('core', 'water__meter_readings', conn.dialect.name)}"))


def test_first_load_shortcut_matches_normal_path(warehouse_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ensure_schema(load_registry(), warehouse_url)
    indexes_before = _indexes(warehouse_url)
    rows = _rows(60)
    rows += [dict(rows[5], reading_m3="999.000"), dict(rows[6])]  # a key twice in one delivery: the last wins

    monkeypatch.setattr(load_mod, "FIRST_LOAD_MIN_ROWS", 10**9)
    normal = _deliver(warehouse_url, rows, "normal.csv")
    normal_rows = _core(warehouse_url)
    _truncate(warehouse_url)
    monkeypatch.setattr(load_mod, "FIRST_LOAD_MIN_ROWS", 1)
    shortcut = _deliver(warehouse_url, rows, "shortcut.csv")

    assert normal == (60, 2, False)
    is_pg = warehouse_url.startswith("postgresql")
    assert shortcut == (60, 2, is_pg)  # SQLite never takes the shortcut
    assert _core(warehouse_url) == normal_rows
    assert len(normal_rows) == 60 and normal_rows[5][2] == 999.0
    assert _indexes(warehouse_url) == indexes_before  # every index rebuilt exactly as it was

    # the rebuilt primary key still enforces uniqueness and serves the next upsert
    assert _deliver(warehouse_url, rows, "again.csv") == (0, 62, False)


def test_redelivery_accounting_is_exact(warehouse_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ensure_schema(load_registry(), warehouse_url)
    monkeypatch.setattr(load_mod, "FIRST_LOAD_MIN_ROWS", 1)
    first = _rows(40)
    assert _deliver(warehouse_url, first, "d1.csv")[:2] == (40, 0)
    # 10 unchanged, 10 changed, 15 new; plus one key delivered twice (unchanged, then changed)
    second = first[:10] + [dict(r, reading_m3="12345.000") for r in first[10:20]] + _rows(15, start=40)
    second += [dict(first[30]), dict(first[30], district="苏村镇")]
    loaded, duplicate, shortcut = _deliver(warehouse_url, second, "d2.csv")
    assert (loaded, duplicate, shortcut) == (10 + 15 + 1, 10 + 1, False)
    core = {(r[0], r[1]): r for r in _core(warehouse_url)}
    assert len(core) == 55
    assert sum(1 for r in core.values() if r[2] == 12345.0) == 10
    assert sum(1 for r in core.values() if r[5] == "苏村镇") == 1
    # the same delivery again changes nothing
    assert _deliver(warehouse_url, second, "d3.csv")[:2] == (0, len(second))


def test_unchanged_rows_keep_their_batch(warehouse_url: str) -> None:
    ensure_schema(load_registry(), warehouse_url)
    rows = _rows(8)
    _deliver(warehouse_url, rows, "a.csv")
    _deliver(warehouse_url, rows[:4] + [dict(r, read_method="manual") for r in rows[4:]], "b.csv")
    with transaction(warehouse_url) as conn:
        table = qualify("core", "water__meter_readings", conn.dialect.name)
        batches = conn.execute(text(f"SELECT _batch_id, count(*) FROM {table} GROUP BY _batch_id ORDER BY 1")).all()
    assert [n for _, n in batches] == [4, 4] and batches[0][0] < batches[1][0]


def test_utc_text_matches_strftime() -> None:
    values = [dt.datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=dt.UTC), dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
              dt.datetime(2026, 3, 5, 7, 8, 9, 120, tzinfo=dt.UTC), None]
    arr = pa.array(values, pa.timestamp("us", tz="UTC"))
    got = utc_text(arr, "+00:00").to_pylist()
    assert got[:3] == [f"{v.strftime('%Y-%m-%d %H:%M:%S.%f')}+00:00" for v in values[:3]]
    # the text SQLite rows were staged with before (strftime; Arrow's %S carries the microseconds)
    assert got == pc.strftime(arr, format="%Y-%m-%d %H:%M:%S+00:00").to_pylist()
