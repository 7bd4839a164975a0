"""File ingestion on both backends: load, upsert idempotency, duplicates, rejections, accounting."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from citydata.app.audit import audit_rows
from citydata.config import settings
from citydata.ingest.pipeline import ingest_department
from citydata.registry import load_registry
from tests.helpers import count, drop, fetch, local_text, recent

T0 = recent()

COLUMNS = ["meter_id", "reading_time", "reading_m3", "battery_pct", "read_method", "district"]


def reading(i: int, value: float = 10.0, **over: object) -> dict:
    row = {"meter_id": f"SW01{i:08d}", "reading_time": local_text(T0), "reading_m3": value,
           "battery_pct": 80, "read_method": "auto", "district": "界湖街道"}
    row.update(over)
    return row


def invariant(rec) -> bool:  # noqa: ANN001
    return rec.rows_read == rec.rows_loaded + rec.rows_quarantined + rec.rows_duplicate


def test_load_then_redeliver_changes_nothing(warehouse_url: str) -> None:
    drop("water", "meter_readings", "a.csv", [reading(i) for i in range(5)])
    [first] = ingest_department("water")
    assert (first.status, first.rows_read, first.rows_loaded, first.rows_duplicate) == ("loaded", 5, 5, 0)
    assert count("core", "water__meter_readings") == 5

    # Same rows, different bytes (extra column order): goes through the load, all duplicates.
    drop("water", "meter_readings", "b.csv", [reading(i) for i in range(5)], columns=list(reversed(COLUMNS)))
    [second] = ingest_department("water")
    assert (second.status, second.rows_loaded, second.rows_duplicate) == ("loaded", 0, 5)
    assert count("core", "water__meter_readings") == 5
    # Unchanged rows keep the batch that first landed them (their t_landed does not move).
    batches = {r["_batch_id"] for r in fetch("SELECT _batch_id FROM core.water__meter_readings")}
    assert batches == {first.batch_id}


def test_correction_updates_row_and_in_file_duplicates_are_counted(warehouse_url: str) -> None:
    drop("water", "meter_readings", "a.csv", [reading(1, 10.0), reading(2, 20.0)])
    ingest_department("water")
    rows = [reading(1, 10.0), reading(2, 25.5), reading(3, 30.0), reading(3, 30.0)]
    drop("water", "meter_readings", "b.csv", rows)
    [rec] = ingest_department("water")
    # meter 2 corrected, meter 3 new, meter 1 unchanged, second copy of meter 3 a duplicate
    assert (rec.rows_read, rec.rows_loaded, rec.rows_duplicate, rec.rows_quarantined) == (4, 2, 2, 0)
    values = {r["meter_id"]: r["reading_m3"] for r in fetch("SELECT meter_id, reading_m3 FROM core.water__meter_readings")}
    assert values == {"SW0100000001": 10.0, "SW0100000002": 25.5, "SW0100000003": 30.0}


def test_same_file_content_twice_is_not_loaded_twice(warehouse_url: str) -> None:
    cfg = settings()
    drop("water", "meter_readings", "a.csv", [reading(i) for i in range(3)])
    drop("water", "meter_readings", "copy-of-a.csv", [reading(i) for i in range(3)])
    first, second = ingest_department("water")
    assert first.rows_loaded == 3
    assert second.rows_loaded == 0 and second.rows_duplicate == 3 and "duplicate delivery" in second.reason
    archived = sorted(p.name for p in cfg.archive_dir.rglob("*.csv"))
    assert archived == ["a.csv", "copy-of-a.csv"]
    assert not list((cfg.landing_dir / "water").rglob("*.csv"))


def test_bad_rows_are_quarantined_with_reasons_and_good_rows_load(warehouse_url: str) -> None:
    rows = [reading(1), reading(2, value="abc"), reading(3, meter_id=""), reading(4, reading_time="yesterday"),
            reading(5)]
    for i in range(6, 12):
        rows.append(reading(i))
    drop("water", "meter_readings", "mixed.csv", rows)
    [rec] = ingest_department("water")
    assert rec.status == "partial" and invariant(rec)
    assert (rec.rows_read, rec.rows_loaded, rec.rows_quarantined) == (11, 8, 3)
    q = fetch("SELECT row_number, record, errors FROM quality.quarantine ORDER BY row_number")
    assert [r["row_number"] for r in q] == [2, 3, 4]
    errors = {r["row_number"]: json.loads(r["errors"]) for r in q}
    assert errors[2][0]["check"] == "type:reading_m3" and errors[2][0]["value"] == "abc"
    assert errors[3][0]["check"] == "required:meter_id"
    assert errors[4][0]["check"] == "type:reading_time"
    assert json.loads(q[0]["record"])["reading_m3"] == "abc"


def test_rejected_file_does_not_stop_other_files(warehouse_url: str) -> None:
    cfg = settings()
    # The names are made of known file-name words, so their labels (record.source) are the names (masking.safe_label).
    drop("water", "meter_readings", "readings.csv", [reading(i) for i in range(4)])
    drop("water", "meter_readings", "readings-delta.csv", [{"reading_time": local_text(T0), "reading_m3": 1}])
    bad_rows = [reading(i, value="x") for i in range(10)]
    drop("water", "meter_readings", "readings-final.csv", bad_rows)
    recs = {r.source.rsplit("/", 1)[-1]: r for r in ingest_department("water")}
    assert recs["readings.csv"].status == "loaded"
    assert recs["readings-delta.csv"].status == "rejected"
    assert "missing required column(s)" in recs["readings-delta.csv"].reason
    assert recs["readings-final.csv"].status == "rejected" and recs["readings-final.csv"].rows_quarantined == 10
    assert count("core", "water__meter_readings") == 4
    assert count("quality", "quarantine") == 0  # a rejected file's rows stay in the file, not half in the table
    err = next(cfg.rejected_dir.rglob("readings-final.csv.error.json"))
    body = json.loads(err.read_text(encoding="utf-8"))
    assert body["reason"] == "too many bad rows" and body["rows_read"] == 10
    assert "type:reading_m3: 10 row(s)" in body["details"]
    assert all(invariant(r) for r in recs.values())


def test_gbk_and_bom_files_decode(warehouse_url: str) -> None:
    drop("water", "meter_readings", "gbk.csv", [reading(1, district="孙祖镇")], encoding="gbk")
    drop("water", "meter_readings", "bom.csv", [reading(2, district="岸堤镇")], encoding="utf-8-sig")
    recs = ingest_department("water")
    assert [r.status for r in recs] == ["loaded", "loaded"]
    districts = {r["district"] for r in fetch("SELECT district FROM core.water__meter_readings")}
    assert districts == {"孙祖镇", "岸堤镇"}


def test_files_being_written_and_misplaced_files(warehouse_url: str) -> None:
    cfg = settings()
    drop("water", "meter_readings", "upload.csv.part", [reading(1)])
    drop("water", "meter_readings", ".hidden.csv", [reading(2)])
    drop("water", "unknown_thing", "x.csv", [reading(3)])
    recs = ingest_department("water")
    assert [(r.status, r.resource) for r in recs] == [("rejected", "_unknown")]
    assert "not a resource of department water" in recs[0].reason
    assert (cfg.landing_dir / "water/meter_readings/upload.csv.part").exists()
    assert (cfg.landing_dir / "water/meter_readings/.hidden.csv").exists()


def test_timestamps_are_stored_in_utc(warehouse_url: str) -> None:
    utc = T0.astimezone(dt.UTC)
    drop("water", "meter_readings", "t.csv", [reading(1, reading_time=local_text(T0)),
                                              reading(2, reading_time=utc.strftime("%Y-%m-%dT%H:%M:%SZ"))])
    ingest_department("water")
    times = {str(r["reading_time"])[:19] for r in fetch("SELECT reading_time FROM core.water__meter_readings")}
    assert times == {utc.strftime("%Y-%m-%d %H:%M:%S")}  # Shanghai wall clock is UTC+8


def test_audit_rows_follow_the_contract(warehouse_url: str) -> None:
    drop("water", "meter_readings", "a.csv", [reading(1)])
    drop("gas", "meter_readings", "broken.csv", [{"x": 1}])
    ingest_department("water")
    ingest_department("gas")
    rows = audit_rows()
    assert {r["department"] for r in rows} == {"water", "gas"}
    for r in rows:
        assert {"department", "resource", "source", "status", "rows_read", "rows_loaded", "rows_quarantined",
                "rows_duplicate", "reason"} <= set(r)
        assert r["rows_read"] == r["rows_loaded"] + r["rows_quarantined"] + r["rows_duplicate"]
    assert [r["status"] for r in audit_rows("gas")] == ["rejected"]


@pytest.mark.parametrize("fmt", ["jsonl", "json", "parquet"])
def test_other_formats(warehouse_url: str, fmt: str) -> None:
    from citydata.mock.delivery import write_rows

    res = load_registry().resource("water", "meter_readings")
    rows = [reading(i) for i in range(3)]
    write_rows(rows, COLUMNS, settings().landing_dir / "water" / "meter_readings" / f"r.{fmt}", fmt)
    [rec] = ingest_department("water")
    assert (rec.status, rec.rows_loaded) == ("loaded", 3), rec
    assert count("core", res.table) == 3


def test_field_added_to_registry_later_becomes_a_column(warehouse_url: str, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    import yaml

    from citydata.config import REPO_ROOT
    from citydata.ingest import pipeline as ingest

    drop("water", "meter_readings", "a.csv", [reading(1)])
    ingest_department("water")
    raw = yaml.safe_load((REPO_ROOT / "include" / "departments.yaml").read_text(encoding="utf-8"))
    raw["departments"]["water"]["resources"]["meter_readings"]["fields"].append(
        {"name": "signal_dbm", "type": "integer"})
    reg = tmp_path / "registry.yaml"
    reg.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("CITYDATA_REGISTRY", str(reg))
    ingest._READY.clear()
    drop("water", "meter_readings", "b.csv", [reading(2, signal_dbm=-70)], columns=[*COLUMNS, "signal_dbm"])
    [rec] = ingest_department("water")
    assert (rec.status, rec.rows_loaded) == ("loaded", 1)
    rows = fetch("SELECT meter_id, signal_dbm FROM core.water__meter_readings ORDER BY meter_id")
    assert [r["signal_dbm"] for r in rows] == [None, -70]
