"""audit.batch_events (what the indicators read) always equals a recount of the core rows.

Each step writes core in another way: loads (first load, re-delivery with changed and
unchanged rows, the first-load shortcut on PostgreSQL), an engineer's UPDATE of event times,
a DELETE, a TRUNCATE; an existing warehouse gains its counts on upgrade, and a changed
event-time column in the registry recounts. The recount is done here in Python from the
core rows, not with the SQL under test.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from citydata.bootstrap import ensure_schema
from citydata.ingest.pipeline import load_batches
from citydata.registry import load_registry
from citydata.warehouse import load as load_mod
from citydata.warehouse.db import qualify, transaction
from citydata.warehouse.event_counts import OPERATIONS, floor_seconds, trigger_name
from citydata.warehouse.load import BatchLoad
from tests.helpers import event_counts, recount_events


def _deliver(url: str, rows: list[dict]) -> BatchLoad:
    resource = load_registry().resource("water", "meter_readings")
    with transaction(url) as conn:
        load, record = load_batches(conn, resource, [pa.RecordBatch.from_pylist(rows)], source_kind="test", source="t")
    assert record.rows_quarantined == 0
    return load


def _readings(n: int, *, value: float = 1.0, start: int = 0) -> list[dict]:
    base = (dt.datetime.now() - dt.timedelta(hours=6)).replace(minute=0, second=0, microsecond=0)  # not 'late'
    return [{"meter_id": f"SW01{i // 4:08d}", "reading_m3": f"{value + i:.3f}", "read_method": "auto",
             "reading_time": (base + dt.timedelta(minutes=15 * (i % 4), microseconds=(i * 7919) % 1_000_000)).isoformat(sep=" ")}
            for i in range(start, start + n)]


def _same(url: str) -> Counter:
    counts = event_counts(url, "water", "meter_readings")
    assert counts == recount_events(url, "water__meter_readings", "reading_time")
    return counts


def test_counts_follow_every_write_to_core(warehouse_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ensure_schema(load_registry(), warehouse_url)
    monkeypatch.setattr(load_mod, "FIRST_LOAD_MIN_ROWS", 1)  # PostgreSQL: the first load takes the shortcut
    load = _deliver(warehouse_url, _readings(40))
    first = load.batch_id
    assert load.first_load == warehouse_url.startswith("postgresql")  # rows COPied straight into core
    assert sum(_same(warehouse_url).values()) == 40
    # Re-delivery: 10 unchanged, 10 changed (they move to the new batch), 5 new.
    rows = _readings(40)
    second = _deliver(warehouse_url, rows[:10] + [dict(r, reading_m3="999.000") for r in rows[10:20]]
                      + _readings(5, start=40)).batch_id
    per_batch = Counter()
    for (b, _), n in _same(warehouse_url).items():
        per_batch[b] += n
    assert per_batch == {first: 30, second: 15}
    d = "postgresql" if warehouse_url.startswith("postgresql") else "sqlite"
    table = qualify("core", "water__meter_readings", d)
    shift = "reading_time + interval '1 hour'" if d == "postgresql" else \
        "strftime('%Y-%m-%d %H:%M:%f', reading_time, '+1 hour') || '000+00:00'"
    with transaction(warehouse_url) as conn:  # an engineer's manual fix and a deletion
        assert conn.execute(text(f"UPDATE {table} SET reading_time = {shift} WHERE meter_id < 'SW0100000003'")).rowcount == 12
        assert conn.execute(text(f"DELETE FROM {table} WHERE meter_id = 'SW0100000009'")).rowcount == 4
    assert sum(_same(warehouse_url).values()) == 41
    if d == "postgresql":
        with transaction(warehouse_url) as conn:
            conn.execute(text(f"TRUNCATE {table}"))
        assert _same(warehouse_url) == Counter()


def test_existing_warehouse_gets_its_counts_on_upgrade(warehouse_url: str) -> None:
    registry = load_registry()
    ensure_schema(registry, warehouse_url)
    _deliver(warehouse_url, _readings(24))
    resource = registry.resource("water", "meter_readings")
    with transaction(warehouse_url) as conn:  # as a warehouse from before the counts existed
        d = conn.dialect.name
        for op in OPERATIONS[d]:
            on = f" ON {qualify('core', resource.table, d)}" if d == "postgresql" else ""
            conn.execute(text(f"DROP TRIGGER {trigger_name(resource)}_{op}{on}"))
        conn.execute(text(f"DELETE FROM {qualify('audit', 'batch_events', d)}"))
        conn.execute(text(f"DELETE FROM {qualify('meta', 'schema_state', d)}"))  # set up by that older version
    assert event_counts(warehouse_url, "water", "meter_readings") == Counter()
    ensure_schema(registry, warehouse_url)
    assert sum(_same(warehouse_url).values()) == 24
    _deliver(warehouse_url, _readings(4, start=24))  # and the recreated triggers count new loads
    assert sum(_same(warehouse_url).values()) == 28


def test_a_new_event_time_column_recounts(warehouse_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def registry(event: str):  # noqa: ANN202
        fields = [{"name": "id", "type": "string", "required": True}, {"name": "t1", "type": "timestamp"},
                  {"name": "t2", "type": "timestamp"}]
        reg = {"departments": {"omega": {"name_zh": "测试", "name_en": "t", "provider": "p", "resources": {"r": {
            "code": "T", "name_zh": "r", "name_en": "r", "update_cycle": "实时", "interval_minutes": 60,
            "sharing_type": "无条件共享", "event_time": event, "primary_key": ["id"], "fields": fields}}}}}
        path = tmp_path / event / "departments.yaml"
        path.parent.mkdir()
        path.write_text(yaml.safe_dump(reg, allow_unicode=True), encoding="utf-8")
        monkeypatch.setenv("CITYDATA_REGISTRY", str(path))
        return load_registry()

    reg = registry("t1")
    ensure_schema(reg, warehouse_url)
    rows = [{"id": f"k{i}", "t1": f"2026-11-0{1 + i % 3} 10:00:00", "t2": f"2026-11-0{4 + i % 2} 11:00:00"}
            for i in range(6)] + [{"id": "none", "t1": None, "t2": None}]
    with transaction(warehouse_url) as conn:
        load_batches(conn, reg.resource("omega", "r"), [pa.RecordBatch.from_pylist(rows)], source_kind="test",
                     source="t")
    assert event_counts(warehouse_url, "omega", "r") == recount_events(warehouse_url, "omega__r", "t1")
    assert sum(event_counts(warehouse_url, "omega", "r").values()) == 6  # a row without event time has no second
    reg = registry("t2")
    ensure_schema(reg, warehouse_url)
    counts = event_counts(warehouse_url, "omega", "r")
    assert counts == recount_events(warehouse_url, "omega__r", "t2")
    assert {t.day for _, t in counts} == {4, 5}  # counted by t2 now (t1 was on days 1-3)


@given(st.lists(st.one_of(st.none(), st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 1, 1),
                                                  timezones=st.just(dt.UTC))), max_size=30),
       st.sampled_from(["s", "ms", "us", "ns"]))
def test_floor_seconds_is_arrows_floor_temporal(times: list[dt.datetime | None], unit: str) -> None:
    """The direct first load's per-second counts floor as the database does (before 1970 too)."""
    arr = pa.array(times, pa.timestamp(unit, tz="UTC"))
    assert floor_seconds(arr).equals(pc.drop_null(pc.floor_temporal(arr, unit="second")))
