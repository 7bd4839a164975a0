"""Dataset names of citydata.lineage against the OpenLineage naming spec, and the default transport."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from citydata.app.airflow_env import airflow_environ
from citydata.config import settings
from citydata.lineage import http_dataset, ingest_lineage, kpi_lineage, pull_lineage, table_dataset
from citydata.registry import load_registry

HOST = socket.gethostname()


def test_postgres_tables_are_named_host_port_and_database_schema_table() -> None:
    ds = table_dataset("postgresql+psycopg://u:secret@db.example.cn:6543/citydata", "core", "water__meters")
    assert (ds.namespace, ds.name) == ("postgres://db.example.cn:6543", "citydata.core.water__meters")
    ds = table_dataset("postgresql://u@warehouse/citydata", None, "card_visits")
    assert (ds.namespace, ds.name) == ("postgres://warehouse:5432", "citydata.public.card_visits")


def test_sqlite_tables_are_named_by_the_database_file_and_the_stored_table(tmp_path: Path) -> None:
    ds = table_dataset(f"sqlite:///{tmp_path}/w.db", "share", "water__meters")
    assert (ds.namespace, ds.name) == (f"sqlite://{HOST}{tmp_path}/w.db", "share__water__meters")


def test_the_lineage_host_setting_names_the_shared_landing_volume(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    monkeypatch.setenv("CITYDATA_LINEAGE_HOST", "landing-zone")
    cfg = settings()
    lin = ingest_lineage(load_registry(), cfg, "water", "water/meters/a.csv",
                         {"resource": "meters", "status": "rejected", "reason": "x", "rows_read": 3})
    assert [(d.namespace, d.name) for d in lin.inputs] == [("file://landing-zone", f"{cfg.landing_dir}/water/meters/a.csv")]
    assert lin.outputs == []  # a rejected file wrote nothing


def test_a_partial_delivery_also_names_the_quarantine(home: Path) -> None:
    cfg = settings()
    rec = {"resource": "meters", "status": "partial", "batch_id": 7, "rows_read": 3, "rows_loaded": 2,
           "rows_quarantined": 1, "published": 2}
    lin = ingest_lineage(load_registry(), cfg, "water", "water/meters/a.csv", rec)
    assert [d.name for d in lin.outputs] == ["core__water__meters", "share__water__meters", "quality__quarantine"]
    assert lin.outputs[0].facet["batch_id"] == 7 and lin.outputs[1].facet["rows_published"] == 2


@given(user=st.from_regex(r"[a-z]{1,8}", fullmatch=True), secret=st.from_regex(r"[A-Z]{6,20}", fullmatch=True),
       port=st.integers(1, 65535), path=st.from_regex(r"(/[a-z0-9]{1,6}){1,3}", fullmatch=True))
def test_an_api_is_named_scheme_host_port_and_path_never_with_credentials_or_query(user: str, secret: str, port: int,
                                                                                     path: str) -> None:
    ds = http_dataset(f"https://{user}:{secret}@api.example.cn:{port}{path}?token={secret}&since=2026")
    assert (ds.namespace, ds.name) == (f"https://api.example.cn:{port}", path)
    assert secret not in ds.namespace + ds.name


def test_a_database_pull_names_the_source_table_and_an_unconfigured_one_no_input(home: Path, tmp_path: Path,
                                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    cfg, registry = settings(), load_registry()
    monkeypatch.delenv("CITYDATA_HEALTH_DB_URL", raising=False)
    assert pull_lineage(registry, cfg, "health", "card_visits", {"status": "skipped"}).inputs == []
    monkeypatch.setenv("CITYDATA_HEALTH_DB_URL", f"sqlite:///{tmp_path}/health.db")
    lin = pull_lineage(registry, cfg, "health", "card_visits", {"status": "loaded", "batch_id": 3, "published": 1})
    assert [(d.namespace, d.name) for d in lin.inputs] == [(f"sqlite://{HOST}{tmp_path}/health.db", "card_visits")]
    assert "core__health__card_visits" in [d.name for d in lin.outputs]


def test_kpi_reads_the_audit_log_and_writes_every_kpi_table(home: Path) -> None:
    lin = kpi_lineage(load_registry(), settings())
    assert {"audit__ingest_log", "audit__batch_events", "core__water__meter_readings"} <= {d.name for d in lin.inputs}
    assert {"kpi__rates", "kpi__resource_rates", "kpi__gaps", "kpi__energy_coverage"} <= {d.name for d in lin.outputs}


def test_airflow_env_sends_events_to_a_file_under_citydata_home_unless_overridden(home: Path) -> None:
    env = airflow_environ({"CITYDATA_HOME": str(home)})
    transport = json.loads(env["AIRFLOW__OPENLINEAGE__TRANSPORT"])
    assert transport == {"type": "file", "log_file_path": str(home / "lineage" / "events.jsonl"), "append": True}
    assert (home / "lineage").is_dir()  # the file transport would drop every event otherwise
    assert env["AIRFLOW__OPENLINEAGE__NAMESPACE"] == "citydata"
    mine = '{"type": "http", "url": "http://marquez:5000"}'
    assert airflow_environ({"AIRFLOW__OPENLINEAGE__TRANSPORT": mine})["AIRFLOW__OPENLINEAGE__TRANSPORT"] == mine
