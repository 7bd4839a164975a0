"""The ingest DAG through Airflow (`airflow dags test`) emails the owner at a real SMTP server."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from citydata.app.airflow_env import dags_test
from citydata.app.audit import audit_rows
from citydata.mock import generators
from citydata.mock.delivery import clean_rows
from citydata.registry import load_registry
from tests.helpers import Inbox, drop, fetch

pytestmark = pytest.mark.airflow

OWNER = "water-data@yinan-water.example.cn"  # the shipped registry's owner of water


@pytest.fixture
def inbox(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Inbox:
    box = Inbox()
    box.start()
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    monkeypatch.setenv("CITYDATA_ALERT_EMAILS", "")  # only the owner's mail matters here
    monkeypatch.setenv(
        "AIRFLOW_CONN_SMTP_DEFAULT",
        f"smtp://127.0.0.1:{box.port}?disable_tls=true&disable_ssl=true&timeout=10&retry_limit=0",
    )
    yield box
    box.stop()


def test_ingest_dag_run_emails_the_owner_about_quarantined_rows_and_a_rejected_file(inbox: Inbox) -> None:
    res = load_registry().resource("water", "meter_readings")
    rows = generators.render(clean_rows(res, 20, 5, dt.datetime.now(dt.UTC)), "csv")
    rows[3]["reading_m3"] = "twelve"
    rows[11]["reading_m3"] = "n/a"
    drop("water", "meter_readings", "readings.csv", rows)
    drop("water", "meter_readings", "upload.csv", [{"nonsense": "x"}])

    code = dags_test("ingest_water", quiet=True)

    assert code != 0  # the rejected file still fails the run visibly; the teardown does not hide it
    audit = {r["source"].rsplit("/", 1)[-1]: r for r in audit_rows("water")}
    assert audit["readings.csv"]["status"] == "partial" and audit["readings.csv"]["rows_quarantined"] == 2
    assert audit["upload.csv"]["status"] == "rejected"
    run_ids = {r["run_id"] for r in audit.values()}
    assert len(run_ids) == 1 and next(iter(run_ids)).startswith("manual__")  # Airflow's run id reached the audit

    [msg] = inbox.messages("quality")
    assert str(msg["To"]) == OWNER
    assert "【数据质量】供水：2 个数据交付存在问题（隔离 2 行，拒收 1 个文件）" in str(msg["Subject"])
    body = msg.get_body(("plain",)).get_content()
    assert "water/meter_readings/readings.csv" in body and "water/meter_readings/upload.csv" in body
    assert "四、被拒收的文件" in body and next(iter(run_ids)) in body
    csv_att = {a.get_filename(): a for a in msg.iter_attachments()}["quarantine_water_meter_readings.csv"]
    assert csv_att.get_payload(decode=True).decode("utf-8-sig").count("\n") == 3
    [row] = fetch("SELECT status, transport, run_id FROM quality.notifications WHERE kind = 'quality'")
    assert row == {"status": "sent", "transport": "smtp", "run_id": next(iter(run_ids))}
