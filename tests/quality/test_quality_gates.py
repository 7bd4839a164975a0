"""Quality gates end to end: mock deliveries with known defects → quarantine, rejection, results, reports.

The mock generator's manifests are the ground truth: for every defect kind it injects, the
rows quarantined must be exactly the rows it broke (precision and recall 100 %), printed per
kind (run with -s) and written to tests/artifacts/quality_precision_recall.json.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from citydata.config import settings
from citydata.ingest.pipeline import ingest_department
from citydata.mock.defects import FILE_KINDS, ROW_KINDS
from citydata.mock.generate import generate
from citydata.registry import load_registry
from tests.helpers import fetch

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts"
# Which checks may catch a row defect of each kind (check-name prefixes of the suites).
CAUGHT_BY = {
    "missing_required": ("required:",),
    "out_of_range": ("range:",),
    "invalid_code": ("format:", "code:", "idcard:"),
    "late": ("late:",),
    "future": ("future:",),
}


def _manifests(home: Path) -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((home / "manifests").rglob("*.manifest.json"))]


def _quarantined() -> dict[tuple[str, str, str], dict[int, list[dict]]]:
    out: dict[tuple[str, str, str], dict[int, list[dict]]] = defaultdict(dict)
    for r in fetch("SELECT department, resource, source, row_number, errors FROM quality.quarantine"):
        out[(r["department"], r["resource"], r["source"].rsplit("/", 1)[-1])][r["row_number"]] = json.loads(r["errors"])
    return out


def test_quarantine_precision_and_recall_per_defect_kind(home: Path, capsys: pytest.CaptureFixture) -> None:
    registry = load_registry()
    for seed, dept in enumerate(sorted(registry.departments), start=3):
        generate(registry, dept, rows=240, seed=seed, defect_rate=0.25, defects=list(ROW_KINDS))
        records = ingest_department(dept)
        assert records and all(r.status in ("loaded", "partial") for r in records), records
        for r in records:
            assert r.rows_read == r.rows_loaded + r.rows_quarantined + r.rows_duplicate
    audit = {r["source"].rsplit("/", 1)[-1]: r for r in fetch("SELECT * FROM audit.ingest_log")}
    quarantined = _quarantined()
    stats = {k: {"injected": 0, "true_pos": 0, "false_neg": 0} for k in ROW_KINDS}
    false_pos: list[tuple] = []
    wrong_reason: list[tuple] = []
    for m in _manifests(home):
        got = quarantined.get((m["department"], m["resource"], m["file"]), {})
        expected = {d["row_number"]: d for d in m["row_defects"] if d["kind"] != "duplicate"}
        for d in m["row_defects"]:
            s = stats[d["kind"]]
            s["injected"] += 1
            if d["kind"] == "duplicate":
                caught = d["row_number"] not in got  # an exact copy is counted as a duplicate, not quarantined
            else:
                caught = d["row_number"] in got
                if caught and not any(e["check"].startswith(CAUGHT_BY[d["kind"]]) and e["column"] == d["column"]
                                      for e in got[d["row_number"]]):
                    wrong_reason.append((m["file"], d, got[d["row_number"]]))
            s["true_pos" if caught else "false_neg"] += 1
        false_pos += [(m["file"], n, errs) for n, errs in got.items() if n not in expected]
        dups = sum(1 for d in m["row_defects"] if d["kind"] == "duplicate")
        assert audit[m["file"]]["rows_duplicate"] == dups, m["file"]
        assert audit[m["file"]]["rows_quarantined"] == len(expected), m["file"]
    table = []
    for kind, s in stats.items():
        # Every quarantined row is attributed to the kind the manifest gives it; rows the manifest calls clean are
        # false positives of no kind (asserted empty below), so precision per kind is TP / (TP + 0).
        precision = 1.0 if s["true_pos"] else float("nan")
        recall = s["true_pos"] / s["injected"] if s["injected"] else float("nan")
        table.append({"kind": kind, **s, "precision": precision, "recall": recall})
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "quality_precision_recall.json").write_text(json.dumps(
        {"generated_at": dt.datetime.now(dt.UTC).isoformat(), "false_positives": len(false_pos), "kinds": table},
        indent=2), encoding="utf-8")
    with capsys.disabled():
        print("\nquarantine vs mock manifest (all departments)")
        print(f"{'defect kind':<18}{'injected':>9}{'caught':>8}{'missed':>8}{'precision':>11}{'recall':>8}")
        for t in table:
            print(f"{t['kind']:<18}{t['injected']:>9}{t['true_pos']:>8}{t['false_neg']:>8}"
                  f"{t['precision']:>11.0%}{t['recall']:>8.0%}")
        print(f"false positives (clean rows quarantined): {len(false_pos)}")
    assert not false_pos, false_pos[:5]
    assert not wrong_reason, wrong_reason[:5]
    for t in table:
        assert t["injected"] > 0, f"the generator injected no {t['kind']} rows: widen the test"
        assert t["false_neg"] == 0, t


@pytest.mark.parametrize("kind", FILE_KINDS)
def test_file_level_defects(home: Path, kind: str) -> None:
    registry = load_registry()
    generate(registry, "water", resources=["meter_readings"], rows=120, seed=5, defects=[kind])
    [record] = ingest_department("water")
    [m] = _manifests(home)
    assert record.rows_read == record.rows_loaded + record.rows_quarantined + record.rows_duplicate
    if kind == "schema_extra":  # an unknown column is ignored and reported (warning), the rows load
        assert (record.status, record.rows_loaded) == ("loaded", 120)
        [r] = fetch("SELECT * FROM quality.validation_results WHERE batch_id = :b AND expectation = 'columns:exact'",
                    b=record.batch_id)
        assert (r["severity"], r["failed"]) == ("warning", 1)
    elif kind in ("schema_renamed", "schema_missing"):
        assert record.status == "rejected", record
        col = m["file_defects"][0].get("renamed_to") or m["file_defects"][0]["column"]
        assert col in record.reason
    elif kind == "gbk_encoding":
        assert (record.status, record.rows_loaded) == ("loaded", 120)
    else:  # truncated: the reader refuses the broken file as a whole, naming the line
        assert record.status == "rejected" and "line 121" in record.reason


def _registry_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **share: float) -> None:
    doc = yaml.safe_load((REPO / "include" / "departments.yaml").read_text(encoding="utf-8"))
    for key, value in share.items():
        dept, res = key.split("__")
        doc["departments"][dept]["resources"][res]["max_bad_share"] = value
    path = tmp_path / "departments.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("CITYDATA_REGISTRY", str(path))
    monkeypatch.setenv("CITYDATA_EXPECTATIONS_DIR", str(REPO / "expectations"))


@pytest.mark.parametrize(("limit", "status"), [(0.10, "rejected"), (0.40, "partial")])
def test_bad_share_threshold_rejects_the_file(warehouse_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              limit: float, status: str) -> None:
    _registry_copy(tmp_path, monkeypatch, water__meter_readings=limit)
    registry = load_registry()
    generate(registry, "water", resources=["meter_readings"], rows=100, seed=9, defect_rate=0.2,
             defects=["out_of_range", "invalid_code"])
    [record] = ingest_department("water", registry)
    assert record.status == status and record.rows_read == 100
    assert record.rows_read == record.rows_loaded + record.rows_quarantined + record.rows_duplicate
    [log] = fetch("SELECT * FROM audit.ingest_log WHERE batch_id = :b", b=record.batch_id)
    assert log["status"] == status
    results = fetch("SELECT * FROM quality.validation_results WHERE batch_id = :b", b=record.batch_id)
    failed = {r["expectation"]: r["failed"] for r in results if r["failed"]}
    assert sum(v for k, v in failed.items() if k.startswith(("range:", "format:", "code:"))) >= 20
    from citydata.reports.validation import validation_report_path

    assert validation_report_path(record.batch_id).is_file()
    if status == "rejected":
        [err] = list(settings().rejected_dir.rglob("*.error.json"))
        doc = json.loads(err.read_text(encoding="utf-8"))
        assert doc["reason"] == "too many bad rows" and "limit 10%" in doc["details"]
        assert 1 <= len(doc["sample_rows"]) <= 5 and all(s["errors"] for s in doc["sample_rows"])
        assert sum(c["failed"] for c in doc["checks"].values()) >= 20
        assert core_rows() == 0  # nothing of a rejected file reaches core
    else:
        assert core_rows() == record.rows_loaded


def core_rows() -> int:
    return fetch("SELECT COUNT(*) AS n FROM core.water__meter_readings")[0]["n"]


def test_rejected_file_samples_are_masked(warehouse_url: str) -> None:
    from citydata.mock.delivery import write_rows
    from citydata.mock.generators import render, rows_for

    rows = render(rows_for("health.card_visits", 10, 4, dt.datetime.now(dt.UTC)), "csv")
    real_ids = [r["citizen_id"] for r in rows]
    for r in rows:  # every check digit wrong: 100 % bad > 50 % → rejected
        r["citizen_id"] = r["citizen_id"][:17] + ("0" if r["citizen_id"][17] != "0" else "1")
    res = load_registry().resource("health", "card_visits")
    path = settings().landing_dir / "health" / "card_visits" / "visits.csv"
    write_rows(rows, [f.name for f in res.fields], path, "csv")
    [record] = ingest_department("health")
    assert record.status == "rejected" and record.rows_quarantined == 10
    [err] = list(settings().rejected_dir.rglob("*.error.json"))
    text = err.read_text(encoding="utf-8")
    doc = json.loads(text)
    assert doc["checks"]["idcard:citizen_id"]["failed"] == 10
    for s in doc["sample_rows"]:
        assert s["record"]["citizen_id"].count("*") == 8 and s["record"]["patient_name"].endswith("*")
        assert [e["value"] for e in s["errors"] if e["column"] == "citizen_id"][0].count("*") == 8
    for real in real_ids + [r["citizen_id"] for r in rows]:
        assert real not in text and real[6:14] not in text  # no full ID, not even the birth date part
    report = Path(doc["report"]).read_text(encoding="utf-8")
    assert all(r["citizen_id"] not in report and r["patient_name"] not in report for r in rows)


def test_results_kept_and_report_renders_offline(warehouse_url: str) -> None:
    registry = load_registry()
    generate(registry, "parking", resources=["sessions"], rows=80, seed=2, defect_rate=0.1, defects=["invalid_code"])
    [record] = ingest_department("parking")
    assert record.status == "partial"
    results = fetch("SELECT * FROM quality.validation_results WHERE batch_id = :b ORDER BY result_id", b=record.batch_id)
    by = {r["expectation"]: r for r in results}
    assert by["type:plate_no"]["evaluated"] == 80 and by["columns:exact"]["level"] == "header"
    assert by["linyi:plate_no"]["severity"] == "warning" and by["row_count:max"]["level"] == "delivery"
    assert sum(r["failed"] for r in results if r["severity"] == "error" and r["level"] == "row") >= record.rows_quarantined
    from citydata.reports.validation import validation_report_path

    path = validation_report_path(record.batch_id)
    assert path == settings().reports_dir / "validation" / "parking" / "sessions" / f"{record.batch_id}.html"
    html = path.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in html and "数据校验报告" in html and "Validation report" in html
    for remote in ("<script", "<link", "http://", "https://", "@import", "url("):
        assert remote not in html
    plates = [r["record"] for r in fetch("SELECT record FROM quality.quarantine")]
    for rec in plates:
        plate = json.loads(rec).get("plate_no")
        if plate and len(plate) > 4:
            assert plate not in html


def test_small_batches_are_merged_before_checks_keeping_order_and_columns() -> None:
    import pyarrow as pa

    from citydata.ingest.pipeline import coalesce

    pages = [pa.RecordBatch.from_pylist([{"a": "1", "b": "x"}]), pa.RecordBatch.from_pylist([{"a": "2"}]),
             pa.RecordBatch.from_pylist([{"a": "3", "c": "z"}])]
    [merged] = list(coalesce(pages, 10))
    assert merged.to_pylist() == [{"a": "1", "b": "x", "c": None}, {"a": "2", "b": None, "c": None},
                                  {"a": "3", "b": None, "c": "z"}]
    assert [b.num_rows for b in coalesce(pages, 2)] == [2, 1]
