"""OpenLineage through Airflow: a real `airflow dags test ingest_parking` (a file delivery and two HTTP
pulls from the real mock API), events read back from the default file transport, on both backends.

The run is also walked along the runbook of docs/lineage.md: one shared row → its batch → the audit row →
the OpenLineage event whose input is the file the department delivered.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url, text

from citydata.app.airflow_env import dags_test, lineage_file
from citydata.asgi import serve_in_thread
from citydata.config import settings
from citydata.mock.generators import lots_rows
from citydata.mock.parking_api import ParkingSystem, create_app
from citydata.warehouse.db import engine, qualify
from tests.helpers import drop

pytestmark = pytest.mark.airflow
TOKEN = secrets.token_urlsafe(12)  # the mock API's; lineage must never carry it


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("airflow_home")


@pytest.fixture
def parking_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    system = ParkingSystem(seed=3, now=now - dt.timedelta(minutes=30), backfill_hours=0.5, sessions_per_hour=40)
    server = serve_in_thread(create_app(system, token=TOKEN, rate_limit=0, tick_seconds=0))
    monkeypatch.setenv("CITYDATA_PARKING_API_URL", server.url)
    monkeypatch.setenv("CITYDATA_PARKING_API_TOKEN", TOKEN)
    yield server.url
    server.stop()


def events(home: Path) -> list[dict]:
    return [json.loads(line) for line in lineage_file(home).read_text(encoding="utf-8").splitlines() if line.strip()]


def names(datasets: list[dict]) -> set[tuple[str, str]]:
    return {(d["namespace"], d["name"]) for d in datasets}


def expected_table(url: str, layer: str, table: str) -> tuple[str, str]:
    """Written out per backend from the OpenLineage naming spec (not computed by the code under test)."""
    u = make_url(url)
    if u.get_backend_name() == "postgresql":
        return f"postgres://{u.host}:{u.port or 5432}", f"{u.database}.{layer}.{table}"
    return f"sqlite://{socket.gethostname()}{Path(u.database).absolute()}", f"{layer}__{table}"


@pytest.fixture
def parking_run(warehouse_url: str, airflow_home: Path, parking_api: str, monkeypatch: pytest.MonkeyPatch) -> dict:
    """One ingest_parking run: lots.csv delivered to the landing zone, sessions and occupancy pulled."""
    monkeypatch.setenv("AIRFLOW_HOME", str(airflow_home))
    monkeypatch.delenv("CITYDATA_LINEAGE_HOST", raising=False)
    cfg = settings()
    rows = lots_rows(4, seed=5, now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    landed = drop("parking", "lots", "lots.csv", rows)
    code = dags_test("ingest_parking", quiet=True)
    return {"code": code, "cfg": cfg, "landed": landed, "events": events(cfg.home), "url": warehouse_url,
            "api": parking_api}


def task_event(evts: list[dict], job: str, kind: str = "COMPLETE") -> dict:
    found = [e for e in evts if e["eventType"] == kind and e["job"]["name"] == job]
    assert found, f"no {kind} event for {job}: {sorted({(e['eventType'], e['job']['name']) for e in evts})}"
    return found[-1]


def test_ingest_dag_emits_lineage_of_files_and_pulls_to_the_file_transport(parking_run: dict) -> None:
    """One Airflow run per backend (they are slow), three promises checked on it."""
    assert parking_run["code"] == 0
    check_file_delivery(parking_run)
    check_pulls(parking_run)
    check_runbook(parking_run)


def check_file_delivery(parking_run: dict) -> None:
    """The ingest_files event: input the landing file as delivered, outputs the core and share tables."""
    evt = task_event(parking_run["events"], "ingest_parking.ingest_files")
    assert evt["job"]["namespace"] == "citydata"
    assert names(evt["inputs"]) == {(f"file://{socket.gethostname()}", str(parking_run["landed"].absolute()))}
    url = parking_run["url"]
    assert names(evt["outputs"]) == {expected_table(url, "core", "parking__lots"),
                                     expected_table(url, "share", "parking__lots")}
    facet = evt["inputs"][0]["facets"]["citydata"]
    assert facet["status"] == "loaded" and facet["rows_read"] == facet["rows_loaded"] == 4
    assert isinstance(facet["batch_id"], int)


def check_pulls(parking_run: dict) -> None:
    """Each pull event: input the API endpoint (no token, no query), outputs the core and share tables."""
    api = make_url(parking_run["api"].replace("http://", "postgresql://"))  # host/port parsing only
    url = parking_run["url"]
    for resource, path in (("sessions", "/api/v1/sessions"), ("occupancy", "/api/v1/occupancy")):
        evt = task_event(parking_run["events"], f"ingest_parking.pull_{resource}")
        assert names(evt["inputs"]) == {(f"http://{api.host}:{api.port}", path)}
        assert expected_table(url, "core", f"parking__{resource}") in names(evt["outputs"])
        assert expected_table(url, "share", f"parking__{resource}") in names(evt["outputs"])
    assert TOKEN not in lineage_file(parking_run["cfg"].home).read_text(encoding="utf-8")


def check_runbook(parking_run: dict) -> None:
    """share row → _batch_id → audit.ingest_log (source, run_id) → the event whose input is that file."""
    url = parking_run["url"]
    dialect = make_url(url).get_backend_name()
    with engine(url).connect() as conn:
        row = conn.execute(text(f"SELECT lot_id, _batch_id FROM {qualify('share', 'parking__lots', dialect)} "
                                "ORDER BY lot_id LIMIT 1")).one()
        audit = conn.execute(text(f"SELECT source, run_id FROM {qualify('audit', 'ingest_log', dialect)} "
                                  "WHERE batch_id = :b"), {"b": row._batch_id}).one()
    assert audit.source == "parking/lots/lots.csv"
    evt = next(e for e in parking_run["events"] if e["eventType"] == "COMPLETE"
               and any(d.get("facets", {}).get("citydata", {}).get("batch_id") == row._batch_id for d in e["inputs"]))
    assert evt["inputs"][0]["name"].endswith("/landing/" + audit.source)
    assert evt["run"]["facets"]["airflow"]["dagRun"]["run_id"] == audit.run_id
