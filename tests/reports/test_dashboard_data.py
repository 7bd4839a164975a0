"""Dashboard data (citydata.reports.dashboard) on both backends: the same numbers as `citydata kpi --json`,
freshness and latest runs from the audit log, the 30-day trend, and the rendered page.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from citydata.app.audit import audit_rows
from citydata.registry import load_registry
from citydata.reports import dashboard
from citydata.warehouse.db import engine, render
from citydata.warehouse.load import ts_param
from tests.helpers import citydata_home, cli_kpis, fetch, fill_warehouse, pg_database

REPO = Path(__file__).resolve().parents[2]
@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def filled(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One filled warehouse per backend, shared by this module's read-only tests (filling takes seconds)."""
    with citydata_home(tmp_path_factory.mktemp("dash_home")) as mp:
        with warehouse(request) as url:
            mp.setenv("CITYDATA_WAREHOUSE_URL", url)
            fill_warehouse()
            yield url


@contextmanager
def warehouse(request: pytest.FixtureRequest) -> Iterator[str]:
    """The embedded SQLite file, or a fresh PostgreSQL database dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{os.environ['CITYDATA_HOME']}/warehouse.db"
        return
    with pg_database(request.getfixturevalue("pg_server"), "cdt_dash") as url:
        yield url


def test_rates_on_the_page_are_the_cli_rows(filled: str) -> None:
    cli = cli_kpis("--period", "month", separate_process=True)  # computes and stores the month (in progress)
    model = dashboard.dashboard_model("month")
    assert model["kpis"] == cli  # passed through, not recomputed
    rows = {r["department"]: r for r in cli}
    assert set(rows) == {*load_registry().departments, "county"}
    assert any(r["collection_rate"] is not None for r in cli), "the filled warehouse measured nothing"
    for d in [*model["departments"], model["county"]]:
        src = rows[d["key"]]
        for field in ("collection_rate", "sharing_rate", "collection_met", "sharing_met"):
            assert d[field] == src[field], (d["key"], field)
    by_utility = {e["utility"]: e for e in rows["county"]["energy_by_utility"]}
    assert {e["key"]: e["coverage"] for e in model["energy"]} == {u: e["coverage"] for u, e in by_utility.items()}
    assert model["period"]["key"] == rows["county"]["period"]
    # The gap list is the CLI's list of resources declaring 实时 that measure worse, with a tier each.
    assert [(g["department"], g["resource"]) for g in model["gaps"]] == [
        (s["department"], s["resource"]) for s in rows["county"]["realtime_shortfalls"]]
    registry = load_registry()
    for g in model["gaps"]:
        assert registry.resource(g["department"], g["resource"]).update_cycle == "实时"
        assert g["tier"] != "realtime" and g["tier_label"]


def test_reading_a_period_writes_nothing_once_it_is_stored(filled: str) -> None:
    cli = cli_kpis("--period", "day")
    computed = {r["department"]: r["computed_at"] for r in cli}
    again = dashboard.kpi_rows("day")
    assert {r["department"]: r["computed_at"] for r in again} == computed
    assert again == cli


def test_freshness_is_time_since_rows_last_landed(filled: str) -> None:
    audits = audit_rows()
    now = dt.datetime.now(dt.UTC)
    fresh = {(f["department"], f["resource"]): f for f in dashboard.freshness(now=now, lang="en")}
    registry = load_registry()
    assert set(fresh) == {(r.department, r.name) for r in registry.resources}
    for res in registry.resources:
        landed = [dt.datetime.fromisoformat(a["t_landed"]) for a in audits
                  if (a["department"], a["resource"]) == (res.department, res.name) and a["rows_loaded"] > 0]
        f = fresh[(res.department, res.name)]
        # A pulled resource whose source is not configured here says so, naming the variable.
        assert f["missing_setting"] == res.missing_setting()
        if not landed:
            state = "unconfigured" if res.missing_setting() else "never"
            assert (f["state"], f["last_landed"], f["age_seconds"]) == (state, None, None)
            continue
        assert dt.datetime.fromisoformat(f["last_landed"]) == max(landed)
        assert f["age_seconds"] == pytest.approx((now - max(landed)).total_seconds(), abs=0.2)
        assert f["state"] == "fresh"  # just landed
    # An hour later, a resource expected every 15 minutes is stale; one expected daily is not.
    later = {(f["department"], f["resource"]): f for f in
             dashboard.freshness(now=now + dt.timedelta(hours=1))}
    for res in registry.resources:
        f = later[(res.department, res.name)]
        if f["last_landed"] is not None:
            age = (now + dt.timedelta(hours=1) - dt.datetime.fromisoformat(f["last_landed"])).total_seconds()
            expected = "stale" if age > (res.interval_minutes + res.grace_minutes) * 60 else "fresh"
            if expected == "stale" and res.missing_setting():
                expected = "unconfigured"  # late because nothing pulls it here, not because the source is slow
            assert f["state"] == expected, res.key


def test_latest_runs_add_up_and_link_to_the_dag_run(filled: str) -> None:
    audits = audit_rows()
    runs = dashboard.latest_runs(ui_base="/airflow")
    water = [r for r in runs if r["department"] == "water"]
    assert len(water) == 1, "one DAG run ingesting several files is one row"
    [w] = water
    mine = [a for a in audits if a["department"] == "water"]
    assert w["files"] == len(mine)
    for field in ("rows_read", "rows_loaded", "rows_quarantined", "rows_duplicate"):
        assert w[field] == sum(a[field] for a in mine), field
    assert w["url"] == "/airflow/dags/ingest_water/runs/manual__2026-11-28T10%3A00%3A00.123456%2B00%3A00"
    others = [r for r in runs if r["department"] != "water"]
    assert others and all(r["url"] is None and r["files"] == 1 for r in others)  # CLI loads: one row each
    assert sum(r["rows_quarantined"] for r in runs) == sum(a["rows_quarantined"] for a in audits)
    assert [r["started_at"] for r in runs] == sorted((r["started_at"] for r in runs), reverse=True)
    assert len(dashboard.latest_runs(limit=2)) == 2


def test_trend_shows_stored_days_and_leaves_missing_days_empty(filled: str) -> None:
    from citydata.kpi.read import read_kpis

    today = dashboard.parse_day(None)
    stored = {d: read_kpis("day", d, refresh=True) for d in (today, today - dt.timedelta(days=2))}
    t = dashboard.trend(today)
    assert len(t["days"]) == dashboard.TREND_DAYS and t["days"][-1] == today.isoformat()
    county = next(s for s in t["collection_rate"] if s["key"] == "county")
    assert county["values"][-1] == next(r["collection_rate"] for r in stored[today] if r["department"] == "county")
    # Everything landed today: before, the platform did not exist. Days computed then are no data, not 0 %.
    assert all(v is None for s in t["collection_rate"] for v in s["values"][:-1])
    # With the platform's first landing five days ago, the stored day two days ago is drawn.
    first = fetch("SELECT batch_id, t_landed FROM audit.ingest_log WHERE t_landed IS NOT NULL ORDER BY t_landed")[0]
    set_landed = "UPDATE audit.ingest_log SET t_landed = :t WHERE batch_id = :b"
    with engine().begin() as conn:
        d = conn.dialect.name
        conn.execute(text(render(set_landed, d)), {"b": first["batch_id"],
                                                   "t": ts_param(dt.datetime.now(dt.UTC) - dt.timedelta(days=5), d)})
    try:
        t = dashboard.trend(today)
    finally:  # the module's warehouse is shared: put the landing time back
        with engine().begin() as conn:
            conn.execute(text(render(set_landed, conn.dialect.name)), {"b": first["batch_id"], "t": first["t_landed"]})
    county = next(s for s in t["collection_rate"] if s["key"] == "county")
    water = next(s for s in t["sharing_rate"] if s["key"] == "water")
    assert water["values"][-3] == next(r["sharing_rate"] for r in stored[today - dt.timedelta(days=2)]
                                       if r["department"] == "water")
    assert county["values"][-2] is None and county["values"][0] is None  # never computed: no point, not 0%


def test_page_renders_the_same_numbers_in_both_languages(filled: str) -> None:
    from citydata_airflow.dashboard.page import render_page

    from citydata.render.fmt import pct

    cli = {r["department"]: r for r in cli_kpis("--period", "month")}
    for lang, title in (("zh-CN", "数据汇聚指标"), ("en", "Data aggregation indicators")):
        html = render_page(dashboard.dashboard_model("month", lang=lang, ui_base=""))
        assert f"<title>{title}</title>" in html
        assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
        for key, row in cli.items():
            value = row["collection_rate"]
            attr = "" if value is None else repr(float(value))
            assert f'data-key="{key}" data-metric="collection_rate" data-value="{attr}"' in html
            assert pct(value) in html
        assert 'href="/dags/ingest_water/runs/manual__2026-11-28T10%3A00%3A00.123456%2B00%3A00"' in html
    assert "实时采集率" in render_page(dashboard.dashboard_model("month", lang="zh-CN"))


def test_bad_parameters_are_one_line_errors(home: Path) -> None:
    from citydata.errors import CitydataError

    with pytest.raises(CitydataError, match="unknown period 'week'"):
        dashboard.check_period("week")
    with pytest.raises(CitydataError, match="bad date '2026-13-01'"):
        dashboard.parse_day("2026-13-01")
    with pytest.raises(CitydataError, match="unknown language 'fr'"):
        dashboard.check_lang("fr")


def test_page_of_an_empty_warehouse_says_no_data(home: Path) -> None:
    from citydata_airflow.dashboard.page import render_page

    model = dashboard.dashboard_model("month", lang="en")
    registry = load_registry()
    assert model["runs"] == [] and [f["state"] for f in model["freshness"]] == [
        "unconfigured" if r.missing_setting() else "never" for r in registry.resources]
    county = next(r for r in model["kpis"] if r["department"] == "county")  # computed once, on first view
    assert model["county"]["collection_rate"] == county["collection_rate"]
    html = render_page(model)
    assert "No ingest runs yet." in html and "never landed" in html
    from citydata.errors import CitydataError

    future = (dashboard.parse_day(None) + dt.timedelta(days=3)).isoformat()
    with pytest.raises(CitydataError, match="has not started yet"):  # a clear error, not an empty page
        dashboard.dashboard_model("day", future)
