"""The live mode's mock departments: what they deliver and when, deterministic by (seed, time)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from citydata.mock import live
from citydata.registry import load_registry

START = dt.datetime(2026, 12, 2, 2, 0, tzinfo=dt.UTC)  # 10:00 in the county


def test_plan_registries_first_remote_readings_on_cadence_late_batch_at_the_end() -> None:
    plan = live.plan(START, START + dt.timedelta(minutes=10), 120, load_registry())
    remote = [d for d in plan if d.kind == "remote"]
    assert {(d.department, d.resource) for d in plan if d.kind == "registry"} == set(live.REGISTRY_RESOURCES)
    assert all(d.at == START for d in plan if d.kind == "registry")
    assert sorted({d.at for d in remote}) == [START + dt.timedelta(minutes=m) for m in (0, 2, 4, 6, 8)]
    assert {d.department for d in remote} == {"water", "gas"}
    late = [d for d in plan if d.kind in ("manual", "late")]
    assert late and all(d.at == START + dt.timedelta(minutes=10) for d in late)
    assert plan == sorted(plan, key=lambda d: (d.at, d.department, d.resource))


@settings(max_examples=25, deadline=None)
@given(at=st.datetimes(min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2030, 1, 1), timezones=st.just(dt.UTC)),
       seed=st.integers(0, 10_000), utility=st.sampled_from(live.UTILITIES))
def test_remote_readings_are_every_active_remote_meter_at_the_delivery_time(at: dt.datetime, seed: int,
                                                                              utility: str) -> None:
    rows = live.remote_readings(utility, 50, seed, at)
    second = at.replace(microsecond=0)
    assert rows and all(r["read_method"] == "auto" and r["reading_time"] == second for r in rows)
    assert len({r["meter_id"] for r in rows}) == len(rows)
    manual = live.manual_readings(utility, 50, seed, at)
    assert all(r["read_method"] == "manual" and r["reading_time"] <= at for r in manual)
    assert not {r["meter_id"] for r in rows} & {r["meter_id"] for r in manual}


def test_written_as_part_then_renamed_and_byte_identical_for_the_same_seed_and_time(tmp_path: Path) -> None:
    reg = load_registry()
    d = live.Delivery(START, "water", "meter_readings", "remote")
    a = live.write(d, reg, tmp_path / "a", fleet=80, seed=3)
    b = live.write(d, reg, tmp_path / "b", fleet=80, seed=3)
    assert a is not None and b is not None
    assert a.read_bytes() == b.read_bytes()
    assert a.relative_to(tmp_path / "a") == Path("water/meter_readings/meter_readings_remote_20261202T020000_s3.csv")
    assert not list((tmp_path / "a").rglob("*.part"))
    later = live.write(live.Delivery(START + dt.timedelta(minutes=2), "water", "meter_readings", "remote"), reg,
                       tmp_path / "a", fleet=80, seed=3)
    assert later is not None and later.read_bytes() != a.read_bytes()
