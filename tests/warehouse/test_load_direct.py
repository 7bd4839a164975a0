"""The PostgreSQL load shortcuts driven by what the checks found, each taken and not taken.

Deliveries go through ``citydata.ingest.pipeline.load_batches`` (real coercion, built-in checks and the
water suite), split into several check batches, so these tests cover the decisions the
checks feed to the loader:
- no key repeats (the suite's uniqueness rule vouches for it) → staging is merged without a
  de-duplication pass;
- and the core table is empty → rows are copied straight into core (direct first load),
  falling back to staging from the first batch that repeats a key.
Every path must leave exactly the core rows, indexes and audit counts of the plain path.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from sqlalchemy import text

from citydata.bootstrap import ensure_schema
from citydata.ingest import pipeline as ingest
from citydata.registry import load_registry
from citydata.warehouse import load as load_mod
from citydata.warehouse.db import transaction
from tests.helpers import event_counts, local_text, recent, recount_events

pytestmark = pytest.mark.pg

COLUMNS = ["meter_id", "reading_time", "reading_m3", "battery_pct", "read_method", "district"]
T0 = recent(3)


def _rows(n: int, *, start: int = 0, bump: float = 0.0) -> list[dict]:
    return [{"meter_id": f"SW01{i // 4:08d}", "reading_time": local_text(T0 + dt.timedelta(minutes=15 * (i % 4))),
             "reading_m3": f"{i * 0.5 + bump:.3f}", "battery_pct": str(i % 101), "read_method": "auto",
             "district": "界湖街道"} for i in range(start, start + n)]


def _deliver(url: str, rows: list[dict], source: str) -> tuple[load_mod.BatchLoad, ingest.AuditRecord]:
    resource = load_registry().resource("water", "meter_readings")
    schema = pa.schema([(c, pa.string()) for c in COLUMNS])
    batches = [pa.RecordBatch.from_pylist(rows[i : i + 10], schema=schema) for i in range(0, len(rows), 10)]
    with transaction(url) as conn:
        return ingest.load_batches(conn, resource, batches, source_kind="test", source=source, columns=COLUMNS)


def _core(url: str) -> list[tuple]:
    with transaction(url) as conn:
        return [tuple(r) for r in conn.execute(text(
            f"SELECT {', '.join(COLUMNS)}, _batch_id FROM core.water__meter_readings ORDER BY meter_id, reading_time"))]


def _indexes(url: str) -> list[tuple]:
    with transaction(url) as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'core' "
            "AND tablename = 'water__meter_readings' ORDER BY indexname"))]


def _empty(url: str) -> None:
    with transaction(url) as conn:
        conn.execute(text("DELETE FROM core.water__meter_readings"))


def _counts(rec: ingest.AuditRecord) -> tuple[int, int, int, int]:
    assert rec.rows_read == rec.rows_loaded + rec.rows_quarantined + rec.rows_duplicate
    return rec.rows_read, rec.rows_loaded, rec.rows_quarantined, rec.rows_duplicate


def _without_batch(core: list[tuple]) -> list[tuple]:
    return [r[:-1] for r in core]


@pytest.fixture
def url(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CITYDATA_WAREHOUSE_URL", pg_url)
    monkeypatch.setattr(ingest, "check_batch_rows", lambda checks: 10)  # several check batches per delivery
    monkeypatch.setattr(load_mod, "FIRST_LOAD_MIN_ROWS", 5)
    ensure_schema(load_registry(), pg_url)
    return pg_url


def _plain(url: str, rows: list[dict], monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Core rows after the same delivery through the plain path (no shortcut), then emptied."""
    with monkeypatch.context() as m:
        m.setattr(load_mod, "FIRST_LOAD_MIN_ROWS", 10**9)
        load, _ = _deliver(url, rows, "plain.csv")
        assert not load.first_load and not load.direct
    core = _core(url)
    _empty(url)
    return core


def test_direct_first_load_taken_then_not_taken(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = _rows(40)
    rows[13]["reading_m3"] = "n/a"  # quarantined, not loaded
    plain = _plain(url, rows, monkeypatch)
    indexes = _indexes(url)

    load, rec = _deliver(url, rows, "first.csv")
    assert (load.direct, load.first_load, load.deduplicated, load.staged) == (True, True, False, 0)
    assert _counts(rec) == (40, 39, 1, 0)
    core = _core(url)
    assert _without_batch(core) == _without_batch(plain) and len(core) == 39
    assert {r[-1] for r in core} == {rec.batch_id}
    assert _indexes(url) == indexes  # dropped and rebuilt exactly as they were

    # Not empty any more: the same rows again plus a correction and new keys go through MERGE,
    # unchanged rows keep the batch that first loaded them.
    again = [*rows, *_rows(5, start=40)]
    again[0] = dict(again[0], reading_m3="999.000")
    load2, rec2 = _deliver(url, again, "second.csv")
    assert (load2.direct, load2.first_load, load2.deduplicated) == (False, False, False)
    assert _counts(rec2) == (45, 6, 1, 38)
    by_key = {(r[0], r[1]): r for r in _core(url)}
    assert len(by_key) == 44
    assert sum(1 for r in by_key.values() if r[-1] == rec.batch_id) == 38
    assert sum(1 for r in by_key.values() if r[-1] == rec2.batch_id) == 6
    assert _indexes(url) == indexes


def test_direct_first_load_falls_back_to_staging_when_a_key_repeats(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = _rows(40)
    rows += [dict(rows[3]), dict(rows[25])]  # identical copies in a later batch: duplicates, not errors
    rows += [dict(r) for r in _rows(2, start=40)] * 2  # and a key twice within that batch
    plain = _plain(url, rows, monkeypatch)

    load, rec = _deliver(url, rows, "repeats.csv")
    assert (load.direct, load.first_load, load.deduplicated) == (True, True, True)
    assert load.direct_rows == 40 and load.staged == len(rows) - 40
    assert _counts(rec) == (46, 42, 0, 4)
    assert _without_batch(_core(url)) == _without_batch(plain)
    # the direct rows were counted by the load (insert trigger off), the merged ones by the trigger
    assert event_counts(url, "water", "meter_readings") == recount_events(url, "water__meter_readings", "reading_time")
    # the rebuilt primary key enforces uniqueness again
    with pytest.raises(Exception, match="duplicate key"), transaction(url) as conn:
        conn.execute(text("INSERT INTO core.water__meter_readings SELECT * FROM core.water__meter_readings LIMIT 1"))


def test_repeated_keys_from_the_start_take_the_staged_paths(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = _rows(30)
    rows.insert(1, dict(rows[0]))  # the first batch already repeats a key: no direct load
    plain = _plain(url, rows, monkeypatch)

    load, rec = _deliver(url, rows, "dup-first.csv")
    assert (load.direct, load.first_load, load.deduplicated) == (None, True, True)  # staged first-load shortcut
    assert _counts(rec) == (31, 30, 0, 1)
    assert _without_batch(_core(url)) == _without_batch(plain)

    _empty(url)
    monkeypatch.setattr(load_mod, "FIRST_LOAD_MIN_ROWS", 10**9)  # too small for any shortcut
    load, rec = _deliver(url, _rows(30), "small.csv")
    assert (load.direct, load.first_load, load.deduplicated) == (False, False, False)
    assert _counts(rec) == (30, 30, 0, 0)


def test_a_column_altered_by_hand_is_sent_as_csv_and_lands_the_same(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = _rows(40)
    plain = _plain(url, rows, monkeypatch)  # binary COPY: every column is of the registry's type
    sent: list[str] = []
    copy = load_mod.BatchLoad._copy

    def spy(self: load_mod.BatchLoad, table: pa.Table, target: str) -> None:
        sent.append("binary" if self._binary(table, target) else "csv")
        copy(self, table, target)

    monkeypatch.setattr(load_mod.BatchLoad, "_copy", spy)
    _deliver(url, rows, "binary.csv")
    assert set(sent) == {"binary"} and _without_batch(_core(url)) == _without_batch(plain)
    _empty(url)
    with transaction(url) as conn:
        conn.execute(text("ALTER TABLE core.water__meter_readings ALTER COLUMN reading_m3 TYPE numeric(12, 3)"))
    sent.clear()
    _deliver(url, rows, "altered.csv")
    assert set(sent) == {"csv"}  # binary would send float8 bytes to a numeric column: refused by the server
    assert [(*r[:2], float(r[2]), *r[3:]) for r in _without_batch(_core(url))] == _without_batch(plain)
