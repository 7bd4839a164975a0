"""Indicators on a hand-computed scenario, on both backends (same oracle ⇒ equal results).

The scenario (temp registry via CITYDATA_REGISTRY, departments added by configuration only):
day D = 2026-11-10 (Asia/Shanghai) = [2026-11-09 16:00, 2026-11-10 16:00) UTC. Every resource
declares 实时 with interval 360 min; records at 01:00, 07:00, 13:00, 19:00 Shanghai.
Rows go through the real load path (citydata.ingest.pipeline.load_batches, one batch per record) and
the real publication (citydata.share.publish); then t_landed / t_published of each batch are
set to event + a chosen latency, the only way to get exact latencies (commit times are now).

  alpha.a1  in scope, 无条件共享, collect 300 s (= threshold), share 300 s   → collected ✓ shared ✓
  alpha.a2  in scope, 无条件共享, collect/share 60,60,60,301 s (p95 = 301)   → ✗ ✗  (3 of 4 records ok)
  alpha.a3  in scope, 不予共享, collect 10 s                                 → ✓, not in sharing denominator
  alpha.a4  NOT in scope, 无条件共享, collect 10 s                           → ignored by the rates
  beta.b1   in scope, 有条件共享 (consumer x), collect 120 s, share 240 s     → ✓ ✓
  beta.b2   in scope, 无条件共享, 13:00 missing (gap 07:00→19:00 = 12 h)      → ✗ (gap) ✓
  beta.b3   in scope, 无条件共享, no records                                 → ✗ ✗
  gamma.c1  in scope, 无条件共享, collect 10 s, share 30 s                   → ✓ ✓
  delta     gas utility: meters + readings (out of scope) for energy coverage

  collection: alpha 2/3, beta 1/3, gamma 1/1, county 4/7 (mean of departments would be 2/3)
  sharing:    alpha 1/2, beta 2/3, gamma 1/1, county 4/6 (mean would be 13/18)
  by records: collection county 22/23 (alpha 11/12, beta 7/7, gamma 4/4); sharing 18/19 (7/8, 7/7, 4/4)
  energy gas: active residential M1 M2 M3; covered M1 only → 1/3; water, heat: no data; pooled 1/3
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from citydata.domain.time import LOCAL_TZ
from citydata.kpi.compute import compute_period
from citydata.kpi.periods import period_for
from citydata.kpi.read import read_kpis, stored
from tests.helpers import AS_OF, DAY, _as_utc, build_scenario, fetch, sh


@pytest.fixture
def scenario(warehouse_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    return build_scenario(warehouse_url, tmp_path, monkeypatch)


def by_dept(rows: list[dict]) -> dict[str, dict]:
    return {r["department"]: r for r in rows}


def test_day_rates_match_hand_computed_oracle(scenario, warehouse_url: str) -> None:  # noqa: ANN001
    compute_period(period_for("day", DAY), scenario, warehouse_url, as_of=AS_OF)
    rows = by_dept(read_kpis("day", DAY.isoformat(), refresh=False))
    assert list(rows) == ["alpha", "beta", "gamma", "delta", "county"]
    expect = {  # department: (collection, sharing, collection by records, sharing by records)
        "alpha": (2 / 3, 1 / 2, 11 / 12, 7 / 8),
        "beta": (1 / 3, 2 / 3, 7 / 7, 7 / 7),
        "gamma": (1.0, 1.0, 1.0, 1.0),
        "county": (4 / 7, 4 / 6, 22 / 23, 18 / 19),
    }
    for dept, (c, s, cr, sr) in expect.items():
        r = rows[dept]
        got = (r["collection_rate"], r["sharing_rate"], r["collection_rate_records"], r["sharing_rate_records"])
        assert got == pytest.approx((c, s, cr, sr), abs=1e-12), dept
        assert r["complete"] is True and r["period"] == "2026-11-10" and r["target"] == 0.8
    # The county rate pools resources: it is not the mean of department rates.
    assert rows["county"]["collection_rate"] != pytest.approx((2 / 3 + 1 / 3 + 1) / 3)
    assert (rows["county"]["resources_in_scope"], rows["county"]["resources_collected_realtime"]) == (7, 4)
    assert (rows["county"]["resources_shareable"], rows["county"]["resources_shared_realtime"]) == (6, 4)
    # A department with no in-scope resource has no rate (null), never 0.
    assert rows["delta"]["collection_rate"] is None and rows["delta"]["collection_met"] is None
    # Against targets (80%): only gamma meets both.
    assert [(d, rows[d]["collection_met"], rows[d]["sharing_met"]) for d in ("alpha", "beta", "gamma", "county")] == [
        ("alpha", False, False), ("beta", False, False), ("gamma", True, True), ("county", False, False)]


def test_resource_tiers_p95_and_gaps(scenario, warehouse_url: str) -> None:  # noqa: ANN001
    period = period_for("day", DAY)
    compute_period(period, scenario, warehouse_url, as_of=AS_OF)
    res = {(r["department"], r["resource"]): r for r in stored(period, warehouse_url)["resources"]}
    a1, a2, a3, b1, b2, b3 = (res[k] for k in [("alpha", "a1"), ("alpha", "a2"), ("alpha", "a3"), ("beta", "b1"),
                                                ("beta", "b2"), ("beta", "b3")])
    # Exactly at the threshold is real-time; one second over is not.
    assert (a1["p95_collect_s"], a1["collect_tier"], a1["collected_rt"]) == (300.0, "realtime", 1)
    assert (a1["p95_share_s"], a1["share_tier"], a1["shared_rt"]) == (300.0, "realtime", 1)
    assert (a2["p95_collect_s"], a2["collect_tier"], a2["collected_rt"], a2["records_collect_ok"]) == \
        (301.0, "near_realtime", 0, 3)
    assert (a3["share_tier"], a3["shared_rt"], a3["records_published"]) == ("not_shared", None, 0)
    assert (b1["p95_collect_s"], b1["p95_share_s"], b1["shared_rt"]) == (120.0, 240.0, 1)
    assert (b2["gaps"], b2["collected_rt"], b2["shared_rt"], b2["max_gap_s"]) == (1, 0, 1, 12 * 3600.0)
    assert (b3["records"], b3["collect_tier"], b3["collected_rt"], b3["shared_rt"]) == (0, "no_data", 0, 0)
    gaps = [g for g in stored(period, warehouse_url)["gaps"] if g["resource"] == "b2"]
    start = gaps[0]["gap_start"]
    start = start if isinstance(start, dt.datetime) else dt.datetime.fromisoformat(start)
    assert start == sh(7) and float(gaps[0]["gap_s"]) == 12 * 3600
    # Declared 实时 but measured worse, with the tier.
    short = {(s["department"], s["resource"]): s for s in read_kpis("day", DAY, refresh=False)[-1]["realtime_shortfalls"]}
    # delta.readings declares 实时 too: listed (out of scope of the rates, flagged so).
    assert set(short) == {("alpha", "a2"), ("beta", "b2"), ("beta", "b3"), ("delta", "readings")}
    assert short[("delta", "readings")]["in_scope"] is False and short[("alpha", "a2")]["in_scope"] is True
    assert short[("alpha", "a2")]["collect_tier"] == "near_realtime"
    assert short[("alpha", "a2")]["reasons"] == ["collection_latency", "sharing_latency"]
    assert short[("beta", "b2")]["reasons"] == ["gaps"]
    assert short[("beta", "b3")]["reasons"] == ["no_data", "gaps"]


def test_energy_coverage_per_utility_and_pooled(scenario, warehouse_url: str) -> None:  # noqa: ANN001
    compute_period(period_for("day", DAY), scenario, warehouse_url, as_of=AS_OF)
    county = read_kpis("day", DAY, refresh=False)[-1]
    energy = {e["utility"]: e for e in county["energy_by_utility"]}
    assert (energy["gas"]["meters_active"], energy["gas"]["meters_covered"]) == (3, 1)
    assert energy["gas"]["coverage"] == pytest.approx(1 / 3) and energy["gas"]["met"] is False
    # No department reports heat (or here water): no data, never 0.
    for u in ("water", "heat"):
        assert (energy[u]["status"], energy[u]["coverage"], energy[u]["met"]) == ("no_data", None, None)
    assert energy["pooled"]["coverage"] == pytest.approx(1 / 3)
    assert county["energy_auto_coverage"] == pytest.approx(1 / 3) and county["energy_met"] is False
    delta = by_dept(read_kpis("day", DAY, refresh=False))["delta"]
    assert delta["energy_utility"] == "gas" and delta["energy_auto_coverage"] == pytest.approx(1 / 3)


def test_in_progress_day_then_recompute_replaces(scenario, warehouse_url: str) -> None:  # noqa: ANN001
    period = period_for("day", DAY)
    # At 12:00 Shanghai only the 01:00 and 07:00 records have landed; the day is in progress.
    compute_period(period, scenario, warehouse_url, as_of=sh(12))
    early = by_dept(read_kpis("day", DAY, refresh=False))
    res = {r["resource"]: r for r in stored(period, warehouse_url)["resources"]}
    assert early["county"]["complete"] is False
    assert res["a1"]["records"] == 2 and res["b2"]["gaps"] == 0  # 07:00 → 12:00 is within 6 h
    assert early["beta"]["collection_rate"] == pytest.approx(2 / 3)  # b1, b2 ✓ (b3 has nothing)
    # Recomputing replaces the period (no duplicates): history keeps one result per period.
    compute_period(period, scenario, warehouse_url, as_of=AS_OF)
    compute_period(period, scenario, warehouse_url, as_of=AS_OF)
    data = stored(period, warehouse_url)
    assert len(data["rates"]) == 5 and len(data["resources"]) == 10 and len(data["energy"]) == 4
    assert by_dept(read_kpis("day", DAY, refresh=False))["county"]["complete"] is True
    # A period that has not started cannot be computed.
    from citydata.errors import CitydataError

    with pytest.raises(CitydataError, match="has not started"):
        compute_period(period_for("day", dt.date(2027, 1, 1)), scenario, warehouse_url, as_of=AS_OF)


def test_month_and_quarter_periods_pool_the_same_records(scenario, warehouse_url: str) -> None:  # noqa: ANN001
    month = period_for("month", DAY)
    compute_period(month, scenario, warehouse_url, as_of=AS_OF)
    rows = by_dept(read_kpis("month", DAY, refresh=False))
    assert rows["county"]["period"] == "2026-11" and rows["county"]["complete"] is False
    # Same 23 records; but over the month (1st to the 12th) every resource has long gaps.
    assert rows["county"]["records"] == 23 and rows["county"]["collection_rate"] == 0.0
    assert rows["county"]["collection_rate_records"] == pytest.approx(22 / 23)
    q = period_for("quarter", DAY)
    assert (q.key, q.first_day, q.last_day) == ("2026-Q4", dt.date(2026, 10, 1), dt.date(2026, 12, 31))


def test_cli_json_is_read_kpis(scenario, warehouse_url: str, capsys: pytest.CaptureFixture) -> None:  # noqa: ANN001
    from citydata.app.cli import main

    compute_period(period_for("day", DAY), scenario, warehouse_url, as_of=AS_OF)
    assert main(["kpi", "--date", "2026-11-10", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(json.dumps(read_kpis("day", "2026-11-10"), ensure_ascii=False, default=str))
    assert main(["kpi", "--date", "2026-11-10"]) == 0
    out = capsys.readouterr().out
    assert "全县 county" in out and "57.1% (4/7)" in out and "未达标 not met" in out and "66.7% (4/6)" in out
    assert main(["kpi", "--date", "2099-01-01"]) == 1  # a period that has not started: one-line error
    assert "has not started" in capsys.readouterr().err


def test_new_data_recomputes_every_period_it_falls_in(scenario, warehouse_url: str) -> None:  # noqa: ANN001
    """An asset-triggered run (data landed) on a later day still recomputes the day, month and
    quarter (every kind in PERIOD_TYPES) the data's events fall in, not only today."""
    from citydata.kpi.jobs import rate_periods, run_kpi_rates, touched_days
    from citydata.kpi.periods import PERIOD_TYPES

    landed_since = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)  # the scenario's batches landed around DAY
    oracle = sorted({_as_utc(r["t_event"]).astimezone(LOCAL_TZ).date() for r in fetch(
        "SELECT e.t_event FROM audit.batch_events e JOIN audit.ingest_log l ON l.batch_id = e.batch_id "
        "WHERE e.n <> 0")})
    assert DAY in oracle and touched_days(warehouse_url, since=landed_since) == oracle
    assert touched_days(warehouse_url, since=AS_OF + dt.timedelta(days=30)) == []
    later = dt.datetime(2026, 12, 3, 2, tzinfo=dt.UTC)  # run in December: another month and quarter
    periods = rate_periods(None, later, asset_triggered=True, touched=[DAY])
    keys = {(p.kind, p.key) for p in periods}
    assert {("day", "2026-11-10"), ("month", "2026-11"), ("quarter", "2026-Q4"), ("day", "2026-12-03"),
            ("month", "2026-12")} <= keys
    assert {p.kind for p in periods} == set(PERIOD_TYPES)
    run_kpi_rates(periods, now=later)
    for kind in PERIOD_TYPES:
        got = by_dept(stored(period_for(kind, DAY), warehouse_url)["rates"])
        assert got["county"]["resources_in_scope"] == 7, kind  # computed, with the new data in it
