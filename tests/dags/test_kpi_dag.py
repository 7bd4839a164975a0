"""kpi_rates through Airflow for a past logical date (a backfill): the logical date picks the day."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from citydata.app.airflow_env import lineage_file, run_airflow
from citydata.kpi.periods import parse_period
from citydata.kpi.read import read_kpis, stored
from tests.helpers import build_scenario

pytestmark = [pytest.mark.airflow, pytest.mark.slow]  # ~1–4 min: db migrate + dags test


def test_kpi_rates_dag_backfills_the_logical_day(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{home / 'warehouse.db'}"
    monkeypatch.setenv("CITYDATA_WAREHOUSE_URL", url)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    build_scenario(url, tmp_path, monkeypatch)
    assert run_airflow(["db", "migrate"], quiet=True).returncode == 0
    proc = run_airflow(["dags", "test", "kpi_rates", "2026-11-10T12:00:00+08:00"], quiet=True, timeout=600)
    assert proc.returncode == 0, (proc.stdout or "")[-2000:] + (proc.stderr or "")[-2000:]
    for key in ("2026-11-09", "2026-11-10", "2026-11", "2026-Q4"):
        assert stored(parse_period(key), url)["rates"], key
    county = read_kpis("day", "2026-11-10", refresh=False)[-1]
    assert county["complete"] is True
    assert county["collection_rate"] == pytest.approx(4 / 7) and county["sharing_rate"] == pytest.approx(4 / 6)
    # OpenLineage (docs/lineage.md): the compute task read the audit log and wrote every kpi table.
    evt = [e for e in map(json.loads, lineage_file(home).read_text(encoding="utf-8").splitlines())
           if e["eventType"] == "COMPLETE" and e["job"]["name"] == "kpi_rates.compute"][-1]
    assert "audit__ingest_log" in {d["name"] for d in evt["inputs"]}
    assert {"kpi__rates", "kpi__resource_rates", "kpi__gaps", "kpi__energy_coverage"} <= {d["name"] for d in evt["outputs"]}


def test_kpi_reports_dag_sends_the_report_once_over_two_runs(home: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Two real runs of kpi_reports for one period: the leadership gets one email each (smtp_default)."""
    import yaml

    from tests.helpers import Inbox

    url = f"sqlite:///{home / 'warehouse.db'}"
    monkeypatch.setenv("CITYDATA_WAREHOUSE_URL", url)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    build_scenario(url, tmp_path, monkeypatch)
    path = tmp_path / "registry" / "departments.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["leadership"] = {"recipients": ["office@yinan.example.cn"]}
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    box = Inbox()
    box.start()
    try:
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", f"smtp://127.0.0.1:{box.port}?disable_tls=true"
                           "&disable_ssl=true&timeout=5&retry_limit=0&from_email=citydata%40bigdata.example.cn")
        assert run_airflow(["db", "migrate"], quiet=True).returncode == 0
        for logical in ("2026-11-25T06:00:00+08:00", "2026-11-26T06:00:00+08:00"):
            proc = run_airflow(["dags", "test", "kpi_reports", logical], quiet=True, timeout=600)
            assert proc.returncode == 0, (proc.stdout or "")[-2000:] + (proc.stderr or "")[-2000:]
        [msg] = box.messages("report")
    finally:
        box.stop()
    assert str(msg["To"]) == "office@yinan.example.cn" and "【月度进展报告】" in str(msg["Subject"])
    assert (home / "reports" / "kpi-2026-11.zh-CN.html").is_file()
