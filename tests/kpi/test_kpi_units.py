"""Periods (Asia/Shanghai calendar), run → period selection, and the p95 (nearest rank) on both backends."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest
import yaml
from sqlalchemy import text

from citydata.domain.time import LOCAL_TZ
from citydata.errors import CitydataError
from citydata.ingest.pipeline import load_batches
from citydata.kpi.compute import compute_period, ready
from citydata.kpi.jobs import rate_periods, report_keys
from citydata.kpi.periods import parse_period, period_for
from citydata.kpi.read import stored
from citydata.kpi.tiers import classify
from citydata.registry import Resource, Tiers, load_registry
from citydata.warehouse.db import qualify, transaction
from citydata.warehouse.load import ts_param

UTC = dt.UTC


def test_periods_are_shanghai_calendar_ranges() -> None:
    day = period_for("day", dt.date(2026, 11, 10))
    assert (day.start, day.end) == (dt.datetime(2026, 11, 9, 16, tzinfo=UTC), dt.datetime(2026, 11, 10, 16, tzinfo=UTC))
    month = period_for("month", dt.date(2026, 12, 31))
    assert (month.key, month.start, month.end) == ("2026-12", dt.datetime(2026, 11, 30, 16, tzinfo=UTC),
                                                  dt.datetime(2026, 12, 31, 16, tzinfo=UTC))
    q = parse_period("2026-q1")
    assert (q.key, q.first_day, q.last_day, len(q.days())) == ("2026-Q1", dt.date(2026, 1, 1), dt.date(2026, 3, 31), 90)
    assert parse_period("2026-02").last_day == dt.date(2026, 2, 28)
    assert not day.complete(day.end - dt.timedelta(microseconds=1)) and day.complete(day.end)
    assert day.measured_until(day.start + dt.timedelta(hours=3)) == day.start + dt.timedelta(hours=3)
    with pytest.raises(CitydataError, match="bad period"):
        parse_period("2026-13")


def test_tier_bounds_are_inclusive() -> None:
    tiers = Tiers()
    assert [classify(s, tiers) for s in (300, 300.000001, 3600, 3601, 86400, 86401, None)] == [
        "realtime", "near_realtime", "near_realtime", "t1", "t1", "late", "no_data"]


def test_run_selects_days_months_quarters() -> None:
    # Daily cron at 00:20 Shanghai on 1 Oct: finalise 30 Sep (its month and Q3) and start 1 Oct (Q4).
    logical = dt.datetime(2026, 10, 1, 0, 20, tzinfo=LOCAL_TZ)
    keys = [(p.kind, p.key) for p in rate_periods(logical, logical, asset_triggered=False)]
    assert keys == [("day", "2026-09-30"), ("day", "2026-10-01"), ("month", "2026-09"), ("month", "2026-10"),
                    ("quarter", "2026-Q3"), ("quarter", "2026-Q4"), ("year", "2026")]
    # New data (asset event): today, in progress, with its month and quarter (and every day the data touched).
    after = dt.datetime(2026, 11, 28, 18, 30, tzinfo=UTC)  # 02:30 on the 29th in Shanghai
    assert [p.key for p in rate_periods(None, after, asset_triggered=True)][:3] == ["2026-11-29", "2026-11", "2026-Q4"]
    late = [p.key for p in rate_periods(None, after, True, touched=[dt.date(2026, 9, 30)])]
    assert late[:6] == ["2026-09-30", "2026-11-29", "2026-09", "2026-11", "2026-Q3", "2026-Q4"]
    assert [p.key for p in rate_periods(None, after, True, override="2026-11-10")][:2] == ["2026-11-09", "2026-11-10"]
    # Reports: the 27th → this month's progress; the 1st → last month final (+ quarter in Jan/Apr/Jul/Oct).
    assert report_keys(dt.datetime(2026, 11, 27, 6, tzinfo=LOCAL_TZ)) == ["2026-11"]
    assert report_keys(dt.datetime(2026, 10, 1, 6, tzinfo=LOCAL_TZ)) == ["2026-09", "2026-Q3"]
    assert report_keys(dt.datetime(2026, 11, 1, 6, tzinfo=LOCAL_TZ)) == ["2026-10"]


def _registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN202
    reg = {"departments": {"omega": {"name_zh": "测试", "name_en": "t", "provider": "p", "resources": {"r": {
        "code": "T", "name_zh": "r", "name_en": "r", "update_cycle": "实时", "interval_minutes": 1440,
        "sharing_type": "无条件共享", "event_time": "t", "primary_key": ["id"],
        "fields": [{"name": "id", "type": "string", "required": True}, {"name": "t", "type": "timestamp",
                                                                         "required": True}]}}}}}
    path = tmp_path / "r" / "departments.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(reg, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("CITYDATA_REGISTRY", str(path))
    return load_registry()


def _load_landed(url: str, res: Resource, rows: list[tuple[str, dt.datetime]], landed: dt.datetime) -> None:
    """Load (id, t) rows as one batch through the real path, then set its t_landed (exact latencies)."""
    with transaction(url) as conn:
        b, _ = load_batches(conn, res, [pa.RecordBatch.from_pylist([{"id": i, "t": t.isoformat()} for i, t in rows])],
                            source_kind="test", source="test")
        d = conn.dialect.name
        conn.execute(text(f"UPDATE {qualify('audit', 'ingest_log', d)} SET t_landed = :t WHERE batch_id = :b"),
                     {"t": ts_param(landed, d), "b": b.batch_id})


def test_p95_nearest_rank_and_day_boundaries(warehouse_url: str, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    registry = _registry(tmp_path, monkeypatch)
    ready(registry, warehouse_url)
    res = registry.resource("omega", "r")
    noon = dt.datetime(2026, 11, 10, 12, tzinfo=LOCAL_TZ)
    last = dt.datetime(2026, 11, 10, 23, 59, 59, tzinfo=LOCAL_TZ)
    nxt = dt.datetime(2026, 11, 11, 0, 0, tzinfo=LOCAL_TZ)

    def load(rows: list[tuple[str, dt.datetime]], landed: dt.datetime) -> None:
        _load_landed(warehouse_url, res, rows, landed)

    load([(f"a{i}", noon) for i in range(19)], noon + dt.timedelta(seconds=10))  # 19 × 10 s
    load([("b", noon)], noon + dt.timedelta(seconds=400))  # 1 × 400 s
    load([("c", last)], last + dt.timedelta(seconds=10))  # 23:59:59 belongs to the day
    load([("d", nxt)], nxt + dt.timedelta(seconds=10))  # 00:00:00 next day does not
    period = period_for("day", dt.date(2026, 11, 10))
    as_of = dt.datetime(2026, 11, 12, tzinfo=UTC)
    compute_period(period, registry, warehouse_url, as_of=as_of)
    [r] = stored(period, warehouse_url)["resources"]
    # n = 21: rank ceil(0.95·21) = 20 → the 20th smallest latency is 10 s.
    assert (r["records"], r["p95_collect_s"], r["collect_tier"], r["records_collect_ok"]) == (21, 10.0, "realtime", 20)
    load([("e", noon)], noon + dt.timedelta(seconds=400))  # n = 22: rank 21 → 400 s
    compute_period(period, registry, warehouse_url, as_of=as_of)
    [r] = stored(period, warehouse_url)["resources"]
    assert (r["records"], r["p95_collect_s"], r["collect_tier"], r["collected_rt"]) == (22, 400.0, "near_realtime", 0)
    # Nothing was published (no publish call): sharing latency is infinite, p95 'not_published'.
    assert (r["share_tier"], r["shared_rt"], r["p95_share_s"]) == ("not_published", 0, None)


def test_latency_is_whole_seconds_from_the_event_second_rounded_up(warehouse_url: str, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Sub-second event times count from their second; the latency is rounded up, never down."""
    registry = _registry(tmp_path, monkeypatch)
    ready(registry, warehouse_url)
    res = registry.resource("omega", "r")
    noon = dt.datetime(2026, 11, 10, 12, tzinfo=LOCAL_TZ)
    for key, event, landed in (("a", noon, noon + dt.timedelta(seconds=299.2)),  # 299.2 → 300: real-time
                               ("b", noon + dt.timedelta(seconds=0.7), noon + dt.timedelta(seconds=300.5))):  # 299.8 true
        _load_landed(warehouse_url, res, [(key, event)], landed)
    period = period_for("day", dt.date(2026, 11, 10))
    compute_period(period, registry, warehouse_url, as_of=dt.datetime(2026, 11, 12, tzinfo=UTC))
    [r] = stored(period, warehouse_url)["resources"]
    # b: from its event second (12:00:00) to 12:05:00.5 is 300.5 s → 301 s, beyond the threshold.
    assert (r["records"], r["records_collect_ok"], r["p95_collect_s"], r["collect_tier"]) == (2, 1, 301.0, "near_realtime")
