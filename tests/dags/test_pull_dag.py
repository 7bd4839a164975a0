"""Pulled resources through Airflow (`airflow dags test ingest_health`), on both warehouse backends:
an unconfigured source says so where engineers look; a configured one records the Airflow run."""

from __future__ import annotations

import email
from email import policy
from pathlib import Path

import pytest

from citydata.app.airflow_env import dags_test, ensure_metadata_db, run_airflow
from citydata.app.audit import audit_rows
from citydata.config import settings
from citydata.mock.health_db import HealthDB
from citydata.reports.dashboard import freshness

pytestmark = pytest.mark.airflow
SPAM = ("InsecureKeyLengthWarning", "looks like production", "noload", "time calling it")


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("airflow_home_pull")


def _alert_texts() -> list[str]:
    out = []
    for path in sorted(settings().outbox_dir.rglob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        body = msg.get_body(preferencelist=("plain",))
        out.append(f"{msg['Subject']}\n{body.get_content() if body else ''}")
    return out


def test_unconfigured_pull_is_named_then_a_configured_pull_records_its_run(
    warehouse_url: str, home: Path, airflow_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_HOME", str(airflow_home))
    monkeypatch.delenv("CITYDATA_HEALTH_DB_URL", raising=False)

    ensure_metadata_db()
    proc = run_airflow(["dags", "test", "ingest_health"], quiet=True)
    assert proc.returncode == 0, (proc.stderr or "")[-2000:]  # skipped pull: the run itself is not a failure
    log = (proc.stdout or "") + (proc.stderr or "")
    assert [s for s in SPAM if s in log] == []  # the warnings of every log before (issue 18)
    row = next(f for f in freshness(warehouse_url) if f["resource"] == "card_visits")
    assert (row["state"], row["missing_setting"]) == ("unconfigured", "CITYDATA_HEALTH_DB_URL")
    alerts = [t for t in _alert_texts() if "CITYDATA_HEALTH_DB_URL" in t]
    assert alerts and "来源未配置" in alerts[0] and "citydata mock-db" in alerts[0]
    assert not [r for r in audit_rows("health") if r["resource"] == "card_visits"]

    url = warehouse_url if warehouse_url.startswith("postgresql") else f"sqlite:///{home / 'health.db'}"
    db = HealthDB(url, seed=3, visits_per_hour=60)
    db.setup(backfill_hours=2)
    db.dispose()
    monkeypatch.setenv("CITYDATA_HEALTH_DB_URL", url)

    assert dags_test("ingest_health", quiet=True) == 0
    pulls = [r for r in audit_rows("health") if r["resource"] == "card_visits"]
    assert pulls and all(r["rows_loaded"] > 0 for r in pulls)
    # The Airflow run that pulled, not None (which the dashboard calls a command-line run).
    assert {r["run_id"].split("__")[0] for r in pulls} == {"manual"}
    row = next(f for f in freshness(warehouse_url) if f["resource"] == "card_visits")
    assert row["state"] == "fresh" and row["missing_setting"] is None
