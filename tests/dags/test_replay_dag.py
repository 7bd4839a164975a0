"""The replay_quarantine DAG through Airflow (`airflow dags test`): a suite fix, then replay, exactly once."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from citydata.app.airflow_env import dags_test
from citydata.config import settings
from citydata.ingest.pipeline import ingest_department
from citydata.mock.delivery import write_rows
from citydata.mock.generators import render, rows_for
from citydata.registry import load_registry
from tests.helpers import fetch

pytestmark = [pytest.mark.airflow, pytest.mark.slow]  # an Airflow metadata DB and a real DAG run
REPO = Path(__file__).resolve().parents[2]


def test_replay_dag_moves_rows_once(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    rows = render(rows_for("water.meter_readings", 6, 31, dt.datetime.now(dt.UTC)), "csv")
    rows[2]["read_method"] = "自动"
    res = load_registry().resource("water", "meter_readings")
    write_rows(rows, [f.name for f in res.fields], settings().landing_dir / "water" / "meter_readings" / "a.csv", "csv")
    [record] = ingest_department("water")
    assert record.rows_quarantined == 1

    suites = tmp_path / "suites"
    suites.mkdir()
    for f in (REPO / "expectations").glob("*.json"):
        doc = json.loads(f.read_text(encoding="utf-8"))
        doc["expectations"] = [e for e in doc["expectations"] if e["meta"]["check"] != "code:read_method"]
        (suites / f.name).write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setenv("CITYDATA_EXPECTATIONS_DIR", str(suites))

    assert dags_test("replay_quarantine", quiet=True) == 0
    [q] = fetch("SELECT status, resolved_batch_id FROM quality.quarantine")
    assert q["status"] == "replayed"
    replays = fetch("SELECT * FROM audit.ingest_log WHERE source_kind = 'replay' AND rows_loaded > 0")
    assert [r["batch_id"] for r in replays] == [q["resolved_batch_id"]]
    assert fetch("SELECT COUNT(*) AS n FROM core.water__meter_readings")[0]["n"] == 6
