"""Replay: corrected quarantined rows move into core exactly once, on both backends."""

from __future__ import annotations

import csv
import datetime as dt
import json
import threading
from pathlib import Path

import pytest

from citydata.app.cli import main
from citydata.config import settings
from citydata.ingest.pipeline import ingest_department
from citydata.ingest.replay import export_quarantine, import_corrections, replay
from citydata.mock.delivery import write_rows
from citydata.mock.generators import render, rows_for
from citydata.registry import load_registry
from tests.helpers import fetch

KEY = "water.meter_readings"


def _deliver(name: str, rows: list[dict]) -> None:
    res = load_registry().resource("water", "meter_readings")
    write_rows(rows, [f.name for f in res.fields], settings().landing_dir / "water" / "meter_readings" / name, "csv")


def _quarantine_three() -> list[dict]:
    """A delivery of 10 readings, 3 of them broken (battery 150, negative reading, unknown read method)."""
    rows = render(rows_for(KEY, 10, 21, dt.datetime.now(dt.UTC)), "csv")
    rows[1]["battery_pct"] = 150
    rows[4]["reading_m3"] = -3
    rows[7]["read_method"] = "自动"
    _deliver("r1.csv", rows)
    [record] = ingest_department("water")
    assert (record.status, record.rows_loaded, record.rows_quarantined) == ("partial", 7, 3)
    return rows


def _core() -> int:
    return fetch("SELECT COUNT(*) AS n FROM core.water__meter_readings")[0]["n"]


def _invariant_holds() -> None:
    for r in fetch("SELECT * FROM audit.ingest_log"):
        assert r["rows_read"] == r["rows_loaded"] + r["rows_quarantined"] + r["rows_duplicate"] + r["rows_stale"], r
        assert r["status"] != "loading"


def test_export_correct_import_replay_exactly_once(warehouse_url: str, tmp_path: Path) -> None:
    _quarantine_three()
    [path] = export_quarantine("water", "meter_readings", tmp_path)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        lines = list(csv.DictReader(fh))
    assert len(lines) == 3 and all(line["problems"] for line in lines)
    by_row = {int(line["row_number"]): line for line in lines}
    by_row[2]["battery_pct"] = "95"  # fixed
    by_row[5]["reading_m3"] = "3"  # fixed
    # row 8 (read_method 自动) left as it is: still failing
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(lines[0]))
        w.writeheader()
        w.writerows(lines)
    assert import_corrections(path) == {"corrected": 2, "discarded": 0, "unchanged": 1}

    [first] = replay("water", "meter_readings")
    assert (first.rows_read, first.rows_loaded, first.rows_still_bad, first.rows_duplicate) == (3, 2, 1, 0)
    assert _core() == 9
    [again] = replay("water", "meter_readings")
    assert (again.rows_read, again.rows_loaded, again.batch_id) == (1, 0, again.batch_id)
    assert _core() == 9

    q = {r["row_number"]: r for r in fetch("SELECT * FROM quality.quarantine")}
    assert q[2]["status"] == q[5]["status"] == "replayed" and q[8]["status"] == "open"
    assert q[2]["resolved_batch_id"] == q[5]["resolved_batch_id"] == first.batch_id
    assert json.loads(q[2]["record"])["battery_pct"] == "150"  # the original stays as delivered
    [log] = fetch("SELECT * FROM audit.ingest_log WHERE batch_id = :b", b=first.batch_id)
    assert log["source_kind"] == "replay" and log["t_landed"] is not None
    core_batch = fetch("SELECT _batch_id FROM core.water__meter_readings WHERE battery_pct = 95")
    assert [r["_batch_id"] for r in core_batch] == [first.batch_id]
    _invariant_holds()

    # The department gives up on the last row: discard closes it; nothing left to replay.
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(lines[0]))
        w.writeheader()
        w.writerow({**by_row[8], "action": "discard"})
    assert import_corrections(path)["discarded"] == 1
    assert [r.rows_read for r in replay("water")] == [0, 0]


def test_suite_fix_then_replay_and_concurrent_replays_load_once(warehouse_url: str, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    _quarantine_three()
    # The data center decides 自动 is an accepted spelling: a suite fix, no correction by the department.
    suites = tmp_path / "suites"
    suites.mkdir()
    repo = Path(__file__).resolve().parents[2] / "expectations"
    for f in repo.glob("*.json"):
        (suites / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    doc = json.loads((suites / f"{KEY}.json").read_text(encoding="utf-8"))
    doc["expectations"] = [e for e in doc["expectations"] if e["meta"]["check"] != "code:read_method"]
    (suites / f"{KEY}.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setenv("CITYDATA_EXPECTATIONS_DIR", str(suites))

    results: list = []
    errors: list = []

    def run() -> None:
        try:
            results.extend(replay("water", "meter_readings"))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert sum(r.rows_loaded for r in results) == 1  # the 自动 row, once, whichever replay got it
    assert _core() == 8
    replayed = fetch("SELECT * FROM quality.quarantine WHERE status = 'replayed'")
    assert len(replayed) == 1 and json.loads(replayed[0]["record"])["read_method"] == "自动"
    _invariant_holds()


def test_replay_does_not_roll_back_a_newer_version(warehouse_url: str, tmp_path: Path) -> None:
    rows = render(rows_for(KEY, 3, 8, dt.datetime.now(dt.UTC)), "csv")
    bad = dict(rows[0], battery_pct=150)
    _deliver("old.csv", [bad, rows[1]])
    ingest_department("water")
    newer = dict(rows[0], reading_m3=float(rows[0]["reading_m3"]) + 1)
    _deliver("new.csv", [newer])  # same key delivered again later, valid
    ingest_department("water")
    [path] = export_quarantine("water", "meter_readings", tmp_path)
    text = path.read_text(encoding="utf-8-sig").replace(",150,", ",90,")
    path.write_text(text, encoding="utf-8-sig")
    assert import_corrections(path)["corrected"] == 1
    [r] = replay("water", "meter_readings")
    # Same key and event time: the later delivery already holds the newer values; replay must not overwrite.
    # The load's version guard counts it as stale (kept in quality.stale_rows), not as a duplicate.
    assert (r.rows_read, r.rows_still_bad, r.rows_loaded, r.rows_duplicate, r.rows_stale) == (1, 0, 0, 0, 1)
    [stale] = fetch("SELECT row_number, current_batch_id FROM quality.stale_rows WHERE batch_id = :b", b=r.batch_id)
    assert stale["row_number"] == 1
    values = [r["reading_m3"] for r in fetch("SELECT reading_m3 FROM core.water__meter_readings")]
    assert sorted(values) == sorted([float(newer["reading_m3"]), float(rows[1]["reading_m3"])])
    [q] = fetch("SELECT status, resolved_batch_id FROM quality.quarantine")
    assert q["status"] == "superseded" and q["resolved_batch_id"] == r.batch_id
    _invariant_holds()


def test_cli_quarantine_and_replay(warehouse_url: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    _quarantine_three()
    assert main(["quarantine", "list", "--department", "water", "--json"]) == 0
    counts = json.loads(capsys.readouterr().out)
    assert [(c["resource"], c["status"], c["n"]) for c in counts] == [("meter_readings", "open", 3)]
    assert main(["quarantine", "export", "--department", "water", "--out", str(tmp_path), "--json"]) == 0
    [path] = json.loads(capsys.readouterr().out)
    assert main(["replay", "--department", "water", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out[0]["rows_read"] == 3 and out[0]["rows_still_bad"] == 3
    bad = tmp_path / "bad.csv"
    bad.write_text("quarantine_id,battery_pct\n999999,1\n", encoding="utf-8")
    assert main(["quarantine", "import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "bad.csv, line 2: quarantine row 999999 does not exist" in err and err.count("\n") == 1
    assert main(["replay", "--department", "nope"]) == 1
    assert Path(path).exists()
