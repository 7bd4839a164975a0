"""kpi_rates through Airflow for a past logical date (a backfill): the logical date picks the day."""

from __future__ import annotations

from pathlib import Path

import pytest

from citydata.app.airflow_env import run_airflow
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
