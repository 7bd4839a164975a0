"""Use of shared data on the dashboard and in the monthly report (both backends): per resource the
consumers and rows served, pending requests and objections; objections raised, resolved, median time."""

from __future__ import annotations

import datetime as dt

from citydata.domain.time import LOCAL_TZ
from citydata.exchange import objections
from citydata.exchange.usage import dashboard_card, usage_for
from citydata.warehouse.db import transaction
from tests.exchange.conftest import load, token, visits


def test_usage_in_dashboard_and_report(api, registry, warehouse_url: str) -> None:  # noqa: ANN001
    load(registry, "open_visits", visits(5), warehouse_url)
    load(registry, "visits", visits(3), warehouse_url)
    insurer, police = token("insurer", warehouse_url), token("police", warehouse_url)
    assert api.get("/share/v1/resources/T-OPEN/rows", insurer, limit=2).status_code == 200
    assert api.get("/share/v1/resources/T-OPEN/rows", police).status_code == 200
    assert api.get("/share/v1/resources/T-COND/rows", insurer).status_code == 200
    assert api.get("/share/v1/resources/T-COND/rows", police).status_code == 403
    assert api.post("/share/v1/requests", {"resource": "T-COND", "purpose": "核查"}, police).status_code == 201
    raised = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)
    with transaction(warehouse_url) as conn:
        a = objections.raise_objection(conn, registry, "insurer", "T-COND", {"visit_id": "V00000"}, "fee", "错误",
                                       now=raised)
        objections.raise_objection(conn, registry, "insurer", "T-COND", {"visit_id": "V00001"}, "fee", "错误")
        objections.resolve(conn, a["objection_id"], accept=False, reason="无误",
                           now=raised + dt.timedelta(hours=2))
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    u = usage_for(start, dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1), warehouse_url, registry)
    per = {r["code"]: r for r in u["resources"]}
    assert (per["T-OPEN"]["consumers"], per["T-OPEN"]["rows_served"], per["T-OPEN"]["calls"]) == (2, 7, 2)
    assert (per["T-COND"]["consumers"], per["T-COND"]["rows_served"]) == (1, 3)
    assert (per["T-COND"]["pending_requests"], per["T-COND"]["open_objections"]) == (1, 1)
    assert u["objections"] == {"raised": 2, "resolved": 1, "median_hours_to_resolve": 2.0}
    assert u["refused_calls"] == {403: 1}
    html = dashboard_card({**u, "lang": "zh-CN"})
    assert 'id="exchange-table"' in html and "共享数据使用情况" in html and 'data-code="T-OPEN"' in html
    from citydata.reports.dashboard import dashboard_model

    model = dashboard_model("day", dt.datetime.now(LOCAL_TZ).date().isoformat(), url=warehouse_url)
    assert {r["code"]: r["rows_served"] for r in model["exchange"]["resources"]}["T-OPEN"] == 7
    from citydata.kpi.periods import period_for
    from citydata.reports.kpi_report import render_kpi_report

    report = render_kpi_report(period_for("month", dt.datetime.now(LOCAL_TZ).date()), "zh-CN", registry, warehouse_url)
    assert "共享数据使用情况" in report and "解决用时中位数" in report
