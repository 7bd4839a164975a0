"""The ingest DAG end to end through Airflow (`airflow dags test`), on both warehouse backends."""

from __future__ import annotations

from pathlib import Path

import pytest

from citydata.app.airflow_env import dags_test
from citydata.app.audit import audit_rows
from citydata.config import settings
from tests.helpers import count, drop, local_text, recent

pytestmark = pytest.mark.airflow


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("airflow_home")


def reading(i: int, **over: object) -> dict:
    row = {"meter_id": f"SW01{i:08d}", "reading_time": local_text(recent()), "reading_m3": 1.5 * i,
           "battery_pct": 90, "read_method": "auto", "district": "青驼镇"}
    row.update(over)
    return row


def test_ingest_dag_loads_good_files_rejects_bad_ones_and_skips_duplicates(
    warehouse_url: str, airflow_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_HOME", str(airflow_home))
    cfg = settings()
    good = drop("water", "meter_readings", "readings.csv", [reading(i) for i in range(20)])
    again = drop("water", "meter_readings", "readings-copy.csv", [reading(i) for i in range(20)])
    assert good.read_bytes() == again.read_bytes()
    drop("water", "meter_readings", "upload.csv", [{"nonsense": "x"}])
    drop("water", "meters", "delta.csv", [
        {"meter_id": "SW0100000001", "district": "界湖街道", "customer_type": "residential", "read_mode": "remote",
         "status": "active", "updated_at": local_text(recent(2))},
        {"meter_id": "SW0100000002", "district": "界湖街道", "customer_type": "residential", "read_mode": "remote",
         "status": "active", "updated_at": "not a time"},
    ])

    code = dags_test("ingest_water", quiet=True)

    # One file was rejected: its mapped task fails, so the run fails visibly; the others still load.
    assert code != 0
    rows = {r["source"].rsplit("/", 1)[-1]: r for r in audit_rows("water")}
    # Each file is its own mapped task and Airflow does not promise their order: whichever of the two
    # identical files runs first loads, the other is recorded as a duplicate delivery.
    pair = sorted((rows[n]["rows_loaded"], rows[n]["rows_duplicate"], rows[n]["status"]) for n in ("readings.csv", "readings-copy.csv"))
    assert pair == [(0, 20, "loaded"), (20, 0, "loaded")]
    assert rows["upload.csv"]["status"] == "rejected"
    assert rows["delta.csv"]["status"] == "partial" and rows["delta.csv"]["rows_quarantined"] == 1
    assert all(r["rows_read"] == r["rows_loaded"] + r["rows_quarantined"] + r["rows_duplicate"] + r["rows_stale"]
               for r in rows.values())
    assert count("core", "water__meter_readings") == 20
    assert count("core", "water__meters") == 1
    assert not [p for p in (cfg.landing_dir / "water").rglob("*") if p.is_file()]
    assert (next(cfg.rejected_dir.rglob("upload.csv.error.json"))).exists()


def test_ingest_dag_with_nothing_waiting_succeeds(home: Path, airflow_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_HOME", str(airflow_home))
    assert dags_test("ingest_gas", quiet=True) == 0
