"""Incremental database pulls by updated_at watermark, on the SQLite and PostgreSQL warehouses.

The health department's database is the real mock (citydata.mock.health_db): an SQLite file
for the SQLite warehouse, and the test's PostgreSQL database (public schema) for PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest
from sqlalchemy import text, update

from citydata.domain.time import LOCAL_TZ
from citydata.mock.health_db import HealthDB, card_visits
from citydata.mock.ids import make_citizen_id
from citydata.registry import load_registry
from citydata.sources import watermarks
from citydata.sources.base import parse_time
from citydata.sources.pull import make_source, pull
from citydata.warehouse.db import engine, qualify, transaction

FIELDS = ["visit_id", "citizen_id", "patient_name", "phone", "institution_id", "visit_type", "visit_time", "updated_at"]
# Yesterday 09:00 in Yinan: clinic hours (the mock DB writes few visits at night), recent enough for the
# suites' age check, and independent of when the suite happens to run.
T0 = (dt.datetime.now(LOCAL_TZ) - dt.timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0).astimezone(dt.UTC)


@pytest.fixture
def health_db(warehouse_url: str, home: Path, monkeypatch: pytest.MonkeyPatch):
    url = warehouse_url if warehouse_url.startswith("postgresql") else f"sqlite:///{home / 'health.db'}"
    db = HealthDB(url, seed=4, visits_per_hour=120, correction_share=0.2)
    db.setup(T0, backfill_hours=12)
    monkeypatch.setenv("CITYDATA_HEALTH_DB_URL", url)
    yield db
    db.dispose()
    from citydata.sources.sql import dispose_source_engines

    dispose_source_engines()


def norm(row: dict) -> dict:
    return {k: (parse_time(v) if k in ("visit_time", "updated_at") else v) for k, v in row.items()}


def source_rows(db: HealthDB) -> dict[str, dict]:
    with db.engine.connect() as conn:
        return {r["visit_id"]: norm(dict(r)) for r in conn.execute(card_visits.select()).mappings()}


def core_rows(url: str) -> tuple[dict[str, dict], int]:
    eng = engine(url)
    name = qualify("core", "health__card_visits", eng.dialect.name)
    with eng.connect() as conn:
        rows = [dict(r) for r in conn.execute(text(f"SELECT {', '.join(FIELDS)} FROM {name}")).mappings()]
    return {r["visit_id"]: norm(r) for r in rows}, len(rows)


def current_watermark(url: str, source_name: str) -> dt.datetime | None:
    with transaction(url) as conn:
        return watermarks.get(conn, "health", "card_visits", source_name)


def test_three_incremental_runs_no_loss_no_duplicates_updates_applied(warehouse_url: str, health_db: HealthDB) -> None:
    res = load_registry().resource("health", "card_visits")
    name = make_source(res).name
    for run in range(3):
        if run:
            counts = health_db.step(T0 + dt.timedelta(minutes=30 * run))
            assert counts["inserted"] > 0 and counts["corrected"] > 0
        record = pull(res)
        assert record.status == "loaded", record.reason
        assert record.rows_read == record.rows_loaded + record.rows_duplicate and record.rows_quarantined == 0
        src = source_rows(health_db)
        core, n = core_rows(warehouse_url)
        assert n == len(core) == len(src)  # no loss, no duplicates
        assert core == src  # late corrections (visit type, phone, name) applied
        assert current_watermark(warehouse_url, name) == max(r["updated_at"] for r in src.values())
        if run:
            # only the changed rows and the overlap window were read again
            assert record.rows_read < len(src) / 2


def test_a_rejected_load_keeps_the_watermark_and_the_next_run_recovers(warehouse_url: str, health_db: HealthDB) -> None:
    res = load_registry().resource("health", "card_visits")
    name = make_source(res).name
    assert pull(res).status == "loaded"
    mark = current_watermark(warehouse_url, name)
    before, _ = core_rows(warehouse_url)
    # The department's system breaks: the next rows it writes have a blank citizen ID.
    t1 = T0 + dt.timedelta(minutes=20)
    health_db.step(t1)
    broken = t1 + dt.timedelta(minutes=1)
    with health_db.engine.begin() as conn:
        conn.execute(update(card_visits).where(card_visits.c.updated_at >= t1 - dt.timedelta(minutes=5))
                     .values(citizen_id="", updated_at=broken))
    record = pull(res)
    assert record.status == "rejected"
    assert current_watermark(warehouse_url, name) == mark
    assert core_rows(warehouse_url)[0] == before  # nothing of the rejected pull landed
    # The department repairs the rows (a correction stamps updated_at); the same watermark picks them up.
    good = source_rows(health_db)
    fixed = broken + dt.timedelta(minutes=1)
    rng = random.Random(1)
    with health_db.engine.begin() as conn:
        for vid, row in good.items():
            if row["citizen_id"] == "":
                conn.execute(update(card_visits).where(card_visits.c.visit_id == vid).values(
                    citizen_id=make_citizen_id(rng, dt.date(1970, 1, 1), True), updated_at=fixed))
    record = pull(res)
    assert record.status == "loaded"
    assert core_rows(warehouse_url)[0] == source_rows(health_db)
    assert current_watermark(warehouse_url, name) == fixed


def test_a_load_that_fails_midway_commits_nothing(warehouse_url: str, health_db: HealthDB) -> None:
    """A source whose stream breaks during the load: the transaction rolls back, watermark and core unchanged."""
    from citydata.sources.base import Pulled

    res = load_registry().resource("health", "card_visits")
    real = make_source(res)
    assert pull(res, source=real).status == "loaded"
    mark = current_watermark(warehouse_url, real.name)
    health_db.step(T0 + dt.timedelta(minutes=45))

    class BreaksMidway:
        kind, name = real.kind, real.name

        def pull(self, since):
            pulled = real.pull(since)
            batches = list(pulled.batches)

            def stream():
                yield batches[0]
                raise ConnectionResetError("connection to the health database lost")

            return Pulled(batches=stream(), rows=pulled.rows, watermark=pulled.watermark)

    before = core_rows(warehouse_url)
    with pytest.raises(ConnectionResetError):
        pull(res, source=BreaksMidway())
    assert current_watermark(warehouse_url, real.name) == mark
    assert core_rows(warehouse_url) == before
    assert pull(res, source=real).status == "loaded"
    assert core_rows(warehouse_url)[0] == source_rows(health_db)


def test_unreachable_database_fails_clearly(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from citydata.errors import CitydataError

    monkeypatch.setenv("CITYDATA_HEALTH_DB_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    res = load_registry().resource("health", "card_visits")
    with pytest.raises(CitydataError, match="health.card_visits: cannot read card_visits"):
        pull(res)
