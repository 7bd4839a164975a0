"""Nothing leaked (issue 15, defect 2): texts that leave the restricted layers never quote delivered
content they cannot classify, and every sensitive kind is masked in them.

Attacked from the outside: a whole run (ingest, quality email, reports) and then every outgoing text
(audit rows, .error.json, validation reports, notifications, the outbox, logs, Airflow handles) is
searched for the delivered names, plates, IDs, phones and addresses. Both backends.
"""

from __future__ import annotations

import csv
import datetime as dt
import json

import pytest

from citydata.app.audit import audit_rows
from citydata.config import settings
from citydata.ingest import tasks
from citydata.notify.service import prepare_department
from scripts.reliability_report import record_outcome
from tests.helpers import leaks, local_text, outgoing_texts, recent

NOW = recent()
PEOPLE = [("371321198803154417", "欧阳娜敏", "13905391234"), ("37132119920707261X", "赵伟", "15865432109")]
PLATES = ["鲁QA7K21", "鲁Q8D6F5"]


def visits(n: int = 2) -> list[list[str]]:
    t, u = local_text(NOW), local_text(NOW + dt.timedelta(minutes=1))
    return [[f"JZ{i:019d}", cid, name, phone, "YL01001", "outpatient", t, u]
            for i, (cid, name, phone) in enumerate(PEOPLE[:n])]


def sessions() -> list[list[str]]:
    t, u = local_text(NOW), local_text(NOW + dt.timedelta(minutes=1))
    return [[f"S{i:06d}", "L01", plate, t, "", "3.5", "parked", u] for i, plate in enumerate(PLATES)]


def write(department: str, resource: str, name: str, rows: list[list[str]], header: list[str] | None = None) -> None:
    path = settings().landing_dir / department / resource / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        if header:
            w.writerow(header)
        w.writerows(rows)


def run_everything(department: str, caplog: pytest.LogCaptureFixture) -> list:
    with caplog.at_level("INFO"):
        handles = tasks.list_waiting(department)
        records = [tasks.ingest_path(department, h) for h in handles]
        prepare_department(department, freshness=False)
    lines = [*caplog.messages, *handles, json.dumps(records, ensure_ascii=False, default=str),
             json.dumps(audit_rows(), ensure_ascii=False, default=str)]
    return records, outgoing_texts(lines)


@pytest.fixture
def outcome(request: pytest.FixtureRequest):  # noqa: ANN201
    row = {"name": request.node.name, "injected": "", "outcome": "test did not finish", "rows_lost": None, "ok": False}
    yield row
    record_outcome("leaks", request.node.name, row)


def test_headerless_csv_names_and_plates_never_leave(warehouse_url: str, outcome: dict,
                                                     caplog: pytest.LogCaptureFixture, monkeypatch) -> None:  # noqa: ANN001
    outcome["injected"] = "CSV without a header row to health/card_visits and parking/sessions (names, plates, IDs)"
    monkeypatch.setenv("CITYDATA_STABLE_SECONDS", "0")
    write("health", "card_visits", "visits.csv", visits())
    write("parking", "sessions", "sessions.csv", sessions())
    records, texts = run_everything("health", caplog)
    prec, ptexts = run_everything("parking", caplog)
    assert [r["status"] for r in records + prec] == ["rejected", "rejected"]
    reason = records[0]["reason"]
    assert "missing required column(s): visit_id, citizen_id, patient_name" in reason and "header row missing" in reason
    assert list(settings().rejected_dir.rglob("*.error.json"))
    values = [v for p in PEOPLE for v in p] + PLATES
    assert leaks(values, {**texts, **ptexts}) == []
    assert any("visits.csv" in t for w, t in texts.items() if w.startswith("quality.notifications"))  # scanned
    outcome.update(outcome="rejected naming the expected columns; no name, plate, ID or phone in any outgoing text",
                   rows_lost=0, ok=True)


def test_sensitive_file_names_are_masked_everywhere_but_the_raw_layers(warehouse_url: str, outcome: dict,
                                                                      caplog: pytest.LogCaptureFixture,
                                                                      monkeypatch) -> None:  # noqa: ANN001
    outcome["injected"] = "file names carrying a citizen ID, a phone, a patient's name, a plate and an address"
    monkeypatch.setenv("CITYDATA_STABLE_SECONDS", "0")
    header = ["visit_id", "citizen_id", "patient_name", "phone", "institution_id", "visit_type", "visit_time",
              "updated_at"]
    cid, name, phone = PEOPLE[0]
    names = [f"{cid}.csv", f"回访_{phone}.csv", f"{name}就诊记录.csv", f"{PLATES[0]}.csv", "界湖街道幸福路8号.csv"]
    for i, n in enumerate(names):
        rows = visits(1) if i % 2 == 0 else [[*visits(1)[0][:2], "", *visits(1)[0][3:]]]  # odd ones quarantine
        rows[0][0] = f"JZ{9000 + i:019d}"
        write("health", "card_visits", n, rows, header)
    records, texts = run_everything("health", caplog)
    assert sorted(r["status"] for r in records) == ["loaded", "loaded", "loaded", "rejected", "rejected"]
    assert all(r["source"].startswith("health/card_visits/") for r in records)
    stored = sorted(p.name for p in settings().zone_root.rglob("*.csv"))
    assert sorted(stored) == sorted(names)  # the originals stay in the raw layers, under their own names
    assert not list(settings().landing_dir.rglob("*.csv"))
    assert leaks([cid, phone, name, PLATES[0], "幸福路"], texts) == []
    # the scan did see those texts: the masked names are in the audit, the email and the reports
    masked = "**_139****1234.csv"  # a rejected one: in the email too
    assert {w.split("[")[0].split("/")[0] for w, t in texts.items() if masked in t} >= {
        "audit.ingest_log", "quality.notifications", "reports"}
    outcome.update(outcome="loaded/rejected as usual, every outgoing text shows the masked name "
                           "(ID/phone/plate masked, unknown Chinese words starred); originals only in archive/rejected/",
                   rows_lost=0, ok=True)
