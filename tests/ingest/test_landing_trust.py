"""The landing contract under attack (issue 15): files still being written, files that used to block
every run, older deliveries, typed values that skipped the checks, hostile file names.

Every test runs on both warehouse backends and records its outcome under
test-artifacts/reliability/landing/ for `make reliability-report`.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from citydata.app.audit import audit_rows
from citydata.config import settings
from citydata.ingest import landing, tasks
from citydata.ingest.pipeline import ingest_department
from scripts.reliability_report import record_outcome
from tests.helpers import count, drop, fetch, local_text, recent

REPO = Path(__file__).resolve().parents[2]
T0 = recent()
TOWN = "界湖街道"
READING_COLUMNS = ["meter_id", "reading_time", "reading_m3", "battery_pct", "read_method", "district"]


def reading(i: int, value: float = 10.0, minute: int = 0) -> dict:
    return {"meter_id": f"SW01{i:08d}", "reading_time": local_text(T0 + dt.timedelta(minutes=minute)),
            "reading_m3": value, "battery_pct": 80, "read_method": "auto", "district": TOWN}


def meter(i: int, updated: dt.datetime, status: str = "active", installed: str = "2020-05-01") -> dict:
    return {"meter_id": f"SW01{i:08d}", "household_address": "", "district": TOWN, "customer_type": "residential",
            "read_mode": "remote", "status": status, "installed_on": installed, "updated_at": local_text(updated)}


def accounting_holds() -> None:
    for r in audit_rows():
        assert r["rows_read"] == r["rows_loaded"] + r["rows_quarantined"] + r["rows_duplicate"] + r["rows_stale"], r


@pytest.fixture
def outcome(request: pytest.FixtureRequest) -> Iterator[dict]:
    row = {"name": request.node.name, "injected": "", "outcome": "test did not finish", "rows_lost": None, "ok": False}
    yield row
    record_outcome("landing", request.node.name, row)


def landing_files() -> list[Path]:
    return sorted(p for p in settings().landing_dir.rglob("*") if p.is_file())


# ---------------------------------------------------------------- 1. files still being written

def test_file_being_written_is_left_until_stable(warehouse_url: str, monkeypatch: pytest.MonkeyPatch,
                                                 outcome: dict) -> None:
    """A department appending to the final name: list_waiting (the DAG and cron path) and a manual run
    both leave it alone while it grows; once quiet it loads with every row written."""
    monkeypatch.setenv("CITYDATA_STABLE_SECONDS", "0.4")
    outcome["injected"] = "writer thread appending rows to the final name while list_waiting and ingest run"
    path = drop("water", "meter_readings", "upload.csv", [reading(0)])
    stop, written = threading.Event(), [1]

    def writer() -> None:
        with path.open("a", encoding="utf-8") as fh:
            while not stop.is_set():
                i = written[0]
                fh.write(f"SW01{i:08d},{local_text(T0)},1.5,80,auto,{TOWN}\n")
                fh.flush()
                written[0] += 1
                time.sleep(0.02)

    t = threading.Thread(target=writer)
    t.start()
    try:
        assert tasks.list_waiting("water") == []
        assert ingest_department("water") == []
    finally:
        stop.set()
        t.join()
    assert count("audit", "ingest_log") == 0 and landing_files() == [path]
    assert tasks.list_waiting("water") == ["water/meter_readings/upload.csv"]
    [rec] = ingest_department("water")
    assert (rec.status, rec.rows_read, rec.rows_loaded) == ("loaded", written[0], written[0])
    accounting_holds()
    outcome.update(outcome=f"skipped while growing; loaded {rec.rows_loaded} of {written[0]} rows once quiet",
                   rows_lost=written[0] - rec.rows_loaded, ok=True)


def test_file_that_grows_after_the_claim_goes_back(warehouse_url: str, outcome: dict,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer was quiet when the run listed the file, then appended while it was read (through the
    descriptor it kept open): nothing is committed, the file goes back to landing/, the next run loads all.

    The append happens at a fixed point: after the run claimed the file and took its signature and
    checksum, as it starts reading (a hook on the reader), so the outcome is not a race.
    """
    from citydata.ingest import pipeline

    outcome["injected"] = "append through an open descriptor after the run claimed the file (read-time check)"
    rows = [reading(i) for i in range(20_000)]
    path = drop("water", "meter_readings", "late_tail.csv", rows)
    fh = path.open("a", encoding="utf-8")
    real_read = pipeline.read_file

    def read_while_the_department_appends(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        if not fh.closed:
            fh.write(f"SW01{99_999_999:08d},{local_text(T0)},1.5,80,auto,{TOWN}\n")
            fh.close()
        return real_read(*args, **kwargs)

    monkeypatch.setattr(pipeline, "read_file", read_while_the_department_appends)
    assert ingest_department("water") == []  # skipped: changed while read
    assert fh.closed
    assert count("audit", "ingest_log") == 0 and count("core", "water__meter_readings") == 0
    assert landing_files() == [path], "the file is back in the landing zone, not archived"
    assert not list(settings().archive_dir.rglob("*.csv")) if settings().archive_dir.exists() else True
    [rec] = ingest_department("water")
    assert (rec.rows_read, rec.rows_loaded) == (20_001, 20_001)
    accounting_holds()
    outcome.update(outcome="rolled back and returned to landing/; next run loaded all 20001 rows", rows_lost=0, ok=True)


def test_file_that_grows_after_it_was_read_goes_back(warehouse_url: str, outcome: dict,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The file was read through and hashed again, then appended to while the rows were merged:
    the last stat inside the transaction sees it, nothing is committed, the next run loads all."""
    from citydata.warehouse.load import BatchLoad

    outcome["injected"] = "append after the read, during the upsert (after the early content check)"
    rows = [reading(i) for i in range(20_000)]
    path = drop("water", "meter_readings", "tail_after_read.csv", rows)
    fh = path.open("a", encoding="utf-8")  # the writer's descriptor follows the file wherever the run moves it
    real_upsert = BatchLoad.upsert

    def upsert_while_the_department_appends(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if not fh.closed:
            fh.write(f"SW01{99_999_998:08d},{local_text(T0)},1.5,80,auto,{TOWN}\n")
            fh.close()
        return real_upsert(self, *args, **kwargs)

    monkeypatch.setattr(BatchLoad, "upsert", upsert_while_the_department_appends)
    assert ingest_department("water") == []  # skipped: changed after it was read
    assert fh.closed
    assert count("audit", "ingest_log") == 0 and count("core", "water__meter_readings") == 0
    assert landing_files() == [path], "the file is back in the landing zone, not archived"
    monkeypatch.setattr(BatchLoad, "upsert", real_upsert)
    [rec] = ingest_department("water")
    assert (rec.rows_read, rec.rows_loaded) == (20_001, 20_001)
    accounting_holds()
    outcome.update(outcome="rolled back and returned to landing/; next run loaded all 20001 rows", rows_lost=0, ok=True)


# ---------------------------------------------------------------- 3. files that blocked every run

def test_deeply_nested_json_is_rejected_and_the_next_file_loads(warehouse_url: str, outcome: dict) -> None:
    outcome["injected"] = "200,000 nested arrays in a JSON Lines value and in a JSON array element"
    cfg = settings()
    folder = cfg.landing_dir / "gas" / "safety_inspections"
    folder.mkdir(parents=True)
    (folder / "a_data.jsonl").write_text('{"inspection_id": "AJ000000000001", "x": ' + "[" * 200_000
                                         + "]" * 200_000 + "}\n", encoding="utf-8")
    (folder / "b_data.json").write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    good = {"inspection_id": "AJ000000000002", "meter_id": "RQ0100000001", "inspector": "", "result": "pass",
            "inspected_at": (T0 - dt.timedelta(hours=1)).isoformat(), "hazard_level": 0, "district": TOWN}
    (folder / "c_data.jsonl").write_text(json.dumps(good) + "\n", encoding="utf-8")
    for i, name in enumerate(("a_data.jsonl", "b_data.json", "c_data.jsonl")):
        stamp = time.time() - 100 + i
        import os

        os.utime(folder / name, (stamp, stamp))
    records = {Path(r.source).name: r for r in ingest_department("gas")}
    assert records["a_data.jsonl"].status == "rejected" and "nested too deeply" in records["a_data.jsonl"].reason
    assert records["b_data.json"].status == "rejected"
    assert records["c_data.jsonl"].status == "loaded" and records["c_data.jsonl"].rows_loaded == 1
    assert len(list(cfg.rejected_dir.rglob("*.error.json"))) == 2
    assert ingest_department("gas") == [] and not landing_files(), "nothing is left to loop on"
    accounting_holds()
    outcome.update(outcome="both rejected with .error.json; the department's next file loaded", rows_lost=0, ok=True)


def test_long_chinese_name_is_archived_under_a_short_name(warehouse_url: str, outcome: dict) -> None:
    """245 bytes of Chinese file name: loads, is archived (the original name stays in the audit), and is
    never re-audited as a duplicate by later runs; a rejected one gets its .error.json too."""
    outcome["injected"] = "245-byte Chinese file names (a good file and a rejected one)"
    long_good = "水" * 80 + ".csv"  # 3 bytes each: 244 bytes
    assert len(long_good.encode()) >= 244
    drop("water", "meter_readings", long_good, [reading(i) for i in range(3)])
    bad = settings().landing_dir / "water" / "meter_readings" / ("坏" * 80 + ".csv")
    bad.write_text("", encoding="utf-8")
    records = {r.status: r for r in ingest_department("water")}
    assert records["loaded"].source == "water/meter_readings/" + "*" * 80 + ".csv"  # unknown words: masked
    raw = fetch("SELECT source_raw FROM audit.source_names WHERE batch_id = :b", b=records["loaded"].batch_id)
    assert raw == [{"source_raw": f"water/meter_readings/{long_good}"}]  # the original, in a restricted place
    assert records["rejected"].reason.startswith("empty file")
    archived = list(settings().archive_dir.rglob("*.csv"))
    assert len(archived) == 1 and archived[0].suffix == ".csv" and len(archived[0].name.encode()) <= 200
    assert "~" in archived[0].name, "a hash of the original name keeps shortened names apart"
    [err] = settings().rejected_dir.rglob("*.error.json")
    assert json.loads(err.read_text(encoding="utf-8"))["file"].endswith("*" * 80 + ".csv")
    assert ingest_department("water") == [] and ingest_department("water") == []
    assert count("audit", "ingest_log") == 2 and not landing_files()
    outcome.update(outcome="archived / rejected under short names with a hash; audited once each", rows_lost=0, ok=True)


def test_safe_name_keeps_extension_and_separates_names() -> None:
    a, b = "长" * 90 + "a.parquet", "长" * 90 + "b.parquet"
    sa, sb = landing.safe_name(a), landing.safe_name(b)
    assert sa != sb and sa.endswith(".parquet") and len(sa.encode()) <= landing.MAX_NAME_BYTES
    assert landing.safe_name("plain.csv") == "plain.csv"
    assert "\n" not in landing.safe_name("x\ny.csv")


# ---------------------------------------------------------------- 4. older deliveries

def test_older_delivery_never_overwrites_a_newer_row(warehouse_url: str, outcome: dict) -> None:
    outcome["injected"] = "meter master data updated 1 h ago, then a re-delivery of the key updated 20 days ago"
    now = dt.datetime.now(T0.tzinfo).replace(microsecond=0)
    drop("water", "meters", "new.csv", [meter(1, now - dt.timedelta(hours=1), "active"), meter(2, now - dt.timedelta(days=3))])
    ingest_department("water")
    older = [meter(1, now - dt.timedelta(days=20), "inactive"), meter(2, now - dt.timedelta(hours=2), "inactive")]
    drop("water", "meters", "old.csv", older)
    [rec] = ingest_department("water")
    assert (rec.rows_read, rec.rows_loaded, rec.rows_stale, rec.rows_duplicate) == (2, 1, 1, 0)
    assert "older than the version already loaded" in rec.reason
    rows = {r["meter_id"]: r["status"] for r in fetch("SELECT meter_id, status FROM core.water__meters")}
    assert rows == {"SW0100000001": "active", "SW0100000002": "inactive"}, "the newer version stays"
    [stale] = fetch("SELECT row_number, row_key, current_batch_id FROM quality.stale_rows")
    assert (stale["row_number"], stale["row_key"]) == (1, "SW0100000001")
    [j] = [r for r in audit_rows("water") if r["batch_id"] == rec.batch_id]
    assert j["rows_stale"] == 1
    accounting_holds()
    outcome.update(outcome="core kept the newer row; 1 row counted rows_stale and kept in quality.stale_rows",
                   rows_lost=rec.rows_read - rec.rows_loaded - rec.rows_quarantined - rec.rows_duplicate - rec.rows_stale,
                   ok=True)


def test_same_version_redelivered_still_updates_and_newer_wins(warehouse_url: str) -> None:
    """From the other side: an equal version corrects the row (last delivery wins), a newer one too."""
    now = dt.datetime.now(T0.tzinfo).replace(microsecond=0)
    t = now - dt.timedelta(hours=3)
    drop("water", "meters", "a.csv", [meter(1, t, "active")])
    ingest_department("water")
    drop("water", "meters", "b.csv", [meter(1, t, "inactive")])
    [same] = ingest_department("water")
    drop("water", "meters", "c.csv", [meter(1, now - dt.timedelta(hours=1), "active")])
    [newer] = ingest_department("water")
    assert (same.rows_loaded, same.rows_stale, newer.rows_loaded, newer.rows_stale) == (1, 0, 1, 0)
    assert [r["status"] for r in fetch("SELECT status FROM core.water__meters")] == ["active"]
    accounting_holds()


def test_version_field_is_validated(tmp_path: Path) -> None:
    import yaml

    from citydata.errors import RegistryError
    from citydata.registry import load_registry, parse_registry

    raw = yaml.safe_load(load_registry().path.read_text(encoding="utf-8"))
    raw["departments"]["water"]["resources"]["meters"]["version_field"] = "district"
    with pytest.raises(RegistryError, match="department water, resource meters.*version_field 'district' must be"):
        parse_registry(raw)
    raw["departments"]["water"]["resources"]["meters"]["version_field"] = "nope"
    with pytest.raises(RegistryError, match="version_field 'nope' is not one of the fields"):
        parse_registry(raw)


def test_old_audit_table_gains_rows_stale(warehouse_url: str) -> None:
    """An audit log created before versions were compared is migrated in place, its rows kept."""
    from sqlalchemy import text

    from citydata.ingest.pipeline import prepare
    from citydata.registry import load_registry
    from citydata.warehouse.db import qualify, transaction

    drop("water", "meter_readings", "a.csv", [reading(i) for i in range(3)])
    ingest_department("water")
    with transaction(warehouse_url) as conn:
        d = conn.dialect.name
        log = qualify("audit", "ingest_log", d)
        if d == "postgresql":
            conn.execute(text(f"ALTER TABLE {log} DROP CONSTRAINT ingest_log_accounting"))
            conn.execute(text(f"ALTER TABLE {log} DROP COLUMN rows_stale"))
            conn.execute(text(f"ALTER TABLE {log} ADD CONSTRAINT ingest_log_check "
                              "CHECK (rows_read = rows_loaded + rows_quarantined + rows_duplicate)"))
        else:
            conn.execute(text(f"ALTER TABLE {log} RENAME TO {log}_x"))
            conn.execute(text(f"CREATE TABLE {log} (batch_id INTEGER PRIMARY KEY AUTOINCREMENT, department TEXT NOT NULL,"
                              " resource TEXT NOT NULL, source_kind TEXT NOT NULL, source TEXT NOT NULL, checksum TEXT,"
                              " status TEXT NOT NULL, rows_read BIGINT NOT NULL DEFAULT 0, rows_loaded BIGINT NOT NULL"
                              " DEFAULT 0, rows_quarantined BIGINT NOT NULL DEFAULT 0, rows_duplicate BIGINT NOT NULL"
                              " DEFAULT 0, reason TEXT, run_id TEXT, started_at TEXT NOT NULL, t_landed TEXT,"
                              " CHECK (rows_read = rows_loaded + rows_quarantined + rows_duplicate))"))
            conn.execute(text(f"INSERT INTO {log} SELECT batch_id, department, resource, source_kind, source, checksum,"
                              f" status, rows_read, rows_loaded, rows_quarantined, rows_duplicate, reason, run_id,"
                              f" started_at, t_landed FROM {log}_x"))
            conn.execute(text(f"DROP TABLE {log}_x"))
        conn.execute(text(f"DELETE FROM {qualify('meta', 'schema_state', d)}"))  # a warehouse set up by an older version
    from citydata.ingest import pipeline

    pipeline._READY.clear()
    prepare(load_registry(), settings())
    [row] = audit_rows()
    assert row["rows_stale"] == 0 and row["rows_loaded"] == 3
    now = dt.datetime.now(T0.tzinfo).replace(microsecond=0)
    drop("water", "meters", "new.csv", [meter(1, now)])
    drop("water", "meters", "old.csv", [meter(1, now - dt.timedelta(days=2), "inactive")])
    import os

    os.utime(settings().landing_dir / "water" / "meters" / "old.csv", (time.time() + 5, time.time() + 5))
    records = ingest_department("water")
    assert [r.rows_stale for r in records] == [0, 1]
    accounting_holds()
    with transaction(warehouse_url) as conn:  # the widened check is in force
        from sqlalchemy.exc import IntegrityError

        with pytest.raises(IntegrityError):
            with conn.begin_nested():
                conn.execute(text(f"UPDATE {qualify('audit', 'ingest_log', conn.dialect.name)} SET rows_stale = 5"))


# ---------------------------------------------------------------- 5. typed values and JSON keys

def _parquet(name: str, table: pa.Table, resource: str = "meter_readings") -> Path:
    path = settings().landing_dir / "water" / resource / name
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


def _readings_table(n: int, **columns: pa.Array) -> pa.Table:
    base = {
        "meter_id": pa.array([f"SW01{i:08d}" for i in range(n)]),
        "reading_time": pa.array([T0.replace(tzinfo=None) + dt.timedelta(minutes=i) for i in range(n)], pa.timestamp("s")),
        "reading_m3": pa.array([1.0 + i for i in range(n)]),
        "battery_pct": pa.array([80] * n, pa.int64()),
        "read_method": pa.array(["auto"] * n),
        "district": pa.array([TOWN] * n),
    }
    base.update(columns)
    return pa.table(base)


def quarantined_checks(batch_id: int) -> list[str]:
    rows = fetch("SELECT errors FROM quality.quarantine WHERE batch_id = :b ORDER BY row_number", b=batch_id)
    return [",".join(sorted({e["check"] for e in json.loads(r["errors"])})) for r in rows]


def test_nan_in_required_parquet_float_is_quarantined(warehouse_url: str, outcome: dict) -> None:
    outcome["injected"] = "Parquet float64 NaN / +Inf / null in the required reading_m3"
    values = [1.5, float("nan"), float("inf"), None, 2.5, 3.5, 4.5]
    _parquet("nan.parquet", _readings_table(7, reading_m3=pa.array(values)))
    [rec] = ingest_department("water")
    assert (rec.rows_loaded, rec.rows_quarantined) == (4, 3)
    assert quarantined_checks(rec.batch_id) == ["type:reading_m3", "type:reading_m3", "required:reading_m3"]
    values = [r["reading_m3"] for r in fetch("SELECT reading_m3 FROM core.water__meter_readings ORDER BY meter_id")]
    assert values == [1.5, 2.5, 3.5, 4.5], "no NaN (PostgreSQL) or NULL (SQLite) reached core"
    stored = fetch("SELECT record FROM quality.quarantine WHERE batch_id = :b", b=rec.batch_id)
    assert all(json.loads(r["record"]) for r in stored)  # valid JSON (NaN written as the text "NaN")
    accounting_holds()
    outcome.update(outcome="3 rows quarantined (type / required), 4 loaded, no NaN in core", rows_lost=0, ok=True)


def test_int64_event_time_is_a_wrong_type_not_microseconds(warehouse_url: str, outcome: dict) -> None:
    outcome["injected"] = "Parquet int64 epoch numbers in the timestamp column reading_time"
    epoch_us = int(T0.timestamp() * 1_000_000)
    table = _readings_table(2, reading_time=pa.array([epoch_us, epoch_us + 60_000_000], pa.int64()))
    _parquet("int_time.parquet", table)
    [rec] = ingest_department("water")
    assert (rec.status, rec.rows_loaded) in (("rejected", 0), ("partial", 0))
    assert "type:reading_time" in rec.reason and "late" not in rec.reason
    assert count("core", "water__meter_readings") == 0
    outcome.update(outcome=f"{rec.status}: type:reading_time for every row, none read as a 1970 time", rows_lost=0, ok=True)


def test_absurd_install_dates_are_quarantined(warehouse_url: str, outcome: dict) -> None:
    outcome["injected"] = "installed_on 0001-01-01, 1899-12-31, 9999-12-31 and a plausible date"
    now = dt.datetime.now(T0.tzinfo).replace(microsecond=0) - dt.timedelta(hours=1)
    dates = ["0001-01-01", "1899-12-31", "9999-12-31", "1999-09-09", "1900-01-01", "2021-02-03", ""]
    drop("water", "meters", "dates.csv", [meter(i, now, installed=d) for i, d in enumerate(dates)])
    [rec] = ingest_department("water")
    assert (rec.rows_loaded, rec.rows_quarantined) == (4, 3)
    assert set(quarantined_checks(rec.batch_id)) == {"range:installed_on"}
    kept = fetch("SELECT installed_on FROM core.water__meters ORDER BY meter_id")
    assert [str(k["installed_on"]) if k["installed_on"] else None for k in kept] == [
        "1999-09-09", "1900-01-01", "2021-02-03", None]
    accounting_holds()
    outcome.update(outcome="3 quarantined range:installed_on, the 4 plausible (or empty) loaded", rows_lost=0, ok=True)


def test_date_window_comes_from_the_registry() -> None:
    from citydata.registry import FieldSpec

    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    low, high = FieldSpec(name="d", type="date").window(now)
    assert low.year == 1900 and (high - now).days == 366
    low, high = FieldSpec(name="d", type="date", earliest=dt.date(1800, 1, 1), latest_days_ahead=0).window(now)
    assert low.year == 1800 and high == now
    with pytest.raises(ValueError, match="only to date and timestamp"):
        FieldSpec(name="x", type="string", earliest=dt.date(1800, 1, 1))


def test_json_keys_differing_only_by_case_reject_the_file(warehouse_url: str, outcome: dict) -> None:
    outcome["injected"] = "JSON Lines objects with meter_id and METER_ID (and two unknown keys colliding)"
    folder = settings().landing_dir / "water" / "meter_readings"
    folder.mkdir(parents=True)
    row = {"meter_id": "SW0100000001", "METER_ID": "SW0100000002", "reading_time": T0.isoformat(), "reading_m3": 1,
           "read_method": "auto", "district": TOWN}
    (folder / "a.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    secret = {**{k: v for k, v in row.items() if k != "METER_ID"}, "zhangsan": 1, "ZhangSan": 2}
    (folder / "b.jsonl").write_text(json.dumps(secret) + "\n", encoding="utf-8")
    records = {Path(r.source).name: r for r in ingest_department("water")}
    assert records["a.jsonl"].status == "rejected"
    assert "differ only by letter case (field(s) meter_id)" in records["a.jsonl"].reason
    assert records["b.jsonl"].status == "rejected" and "zhangsan" not in records["b.jsonl"].reason.lower()
    assert count("core", "water__meter_readings") == 0
    outcome.update(outcome="rejected naming the registry field; unknown colliding keys counted, not quoted",
                   rows_lost=0, ok=True)


def test_binary_parquet_values_are_text_or_quarantined(warehouse_url: str, outcome: dict) -> None:
    outcome["injected"] = "Parquet BYTE_ARRAY (binary) read_method / district: valid UTF-8, empty, invalid bytes"
    table = _readings_table(3, read_method=pa.array([b"auto", b"manual", b"\xff\xfe"], pa.binary()),
                            district=pa.array([TOWN.encode(), TOWN.encode(), TOWN.encode()], pa.binary()))
    _parquet("binary.parquet", table)
    [rec] = ingest_department("water")
    assert (rec.rows_loaded, rec.rows_quarantined) == (2, 1)
    core = fetch("SELECT read_method, district FROM core.water__meter_readings ORDER BY meter_id")
    assert core == [{"read_method": "auto", "district": TOWN}, {"read_method": "manual", "district": TOWN}]
    [q] = fetch("SELECT record, errors FROM quality.quarantine")
    assert "b'" not in q["record"] and json.loads(q["record"])["read_method"] == "0xfffe"
    assert "type:read_method" in q["errors"]
    outcome.update(outcome="valid UTF-8 loaded as text, invalid bytes quarantined (kept as hex)", rows_lost=0, ok=True)


# ---------------------------------------------------------------- 9. names and unknown departments

def test_newline_in_file_name_never_reaches_an_audit_or_log_line(warehouse_url: str, outcome: dict,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    outcome["injected"] = "file names with a newline and a tab (forged audit / log lines)"
    forged = "a.csv\n2026-01-01 INFO water/meter_readings/ok.csv: loaded"
    drop("water", "meter_readings", forged, [reading(1)])
    drop("water", "meter_readings", "tab\there.csv", [reading(2)])
    with caplog.at_level("INFO"):
        records = ingest_department("water")
    assert sorted(r.status for r in records) == ["rejected", "rejected"]
    for r in audit_rows():
        assert "\n" not in r["source"] and "\t" not in r["source"] and "\n" not in (r["reason"] or "")
        assert "control characters" in r["reason"]
    assert not any("\n" in m or "\t" in m for m in caplog.messages)
    stored = [p.name for p in settings().rejected_dir.rglob("*") if p.is_file()]
    assert stored and not any("\n" in n or "\t" in n for n in stored)
    assert not landing_files()
    outcome.update(outcome="rejected; audit source, reason, logs and stored names carry no control character",
                   rows_lost=0, ok=True)


def test_audit_of_unknown_department_fails_with_one_line(home: Path, outcome: dict) -> None:
    outcome["injected"] = "citydata audit --department nosuch"
    import os

    r = subprocess.run([sys.executable, "-m", "citydata.app.cli", "audit", "--department", "nosuch"], cwd=REPO,
                       capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.strip().splitlines() == ["citydata: error: unknown department 'nosuch'"]
    r = subprocess.run([sys.executable, "-m", "citydata.app.cli", "audit", "--department", "water\nx", "--json"],
                       cwd=REPO, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1
    outcome.update(outcome="exit 1, one line naming the department", rows_lost=0, ok=True)
