"""Fault injection on pulled sources: the health department's database connection dies mid-pull.

The source is the real mock health database (citydata.mock.health_db) in its own PostgreSQL
database; the test holds a lock on its table so the pull blocks on it, then terminates the
pull's source session with pg_terminate_backend. The watermark must not move, core must not
change, and the next pull must catch up with exactly the source's rows.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.helpers import wait_until

T0 = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=3)


@pytest.mark.pg
@pytest.mark.timeout(240)
def test_health_db_connection_dropped_mid_pull(home: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch,
                                               fault: dict) -> None:  # noqa: F811
    import psycopg

    from citydata.mock.health_db import HealthDB
    from citydata.registry import load_registry
    from citydata.sources import watermarks
    from citydata.sources.pull import make_source, pull
    from citydata.sources.sql import dispose_source_engines
    from citydata.warehouse.db import qualify, transaction

    warehouse = f"sqlite:///{home / 'warehouse.db'}"
    monkeypatch.setenv("CITYDATA_WAREHOUSE_URL", warehouse)
    db = HealthDB(pg_url, seed=9, visits_per_hour=120, correction_share=0.2)
    db.setup(T0, backfill_hours=6)
    monkeypatch.setenv("CITYDATA_HEALTH_DB_URL", pg_url)
    res = load_registry().resource("health", "card_visits")
    source = make_source(res)

    def state() -> tuple[object, int]:
        with transaction(warehouse) as conn:
            mark = watermarks.get(conn, "health", "card_visits", source.name)
            n = conn.execute(text(f"SELECT COUNT(*) FROM {qualify('core', 'health__card_visits', 'sqlite')}")).scalar()
        return mark, n

    try:
        first = pull(res, source=source)
        assert first.status in ("loaded", "partial")
        before = state()
        db.step(T0 + dt.timedelta(minutes=90))  # new and corrected visits at the source

        libpq = pg_url.replace("postgresql+psycopg://", "postgresql://")
        locker = psycopg.connect(libpq)
        locker.execute("LOCK TABLE card_visits IN ACCESS EXCLUSIVE MODE")
        monitor = psycopg.connect(libpq, autocommit=True)
        errors: list[BaseException] = []

        def run() -> None:
            try:
                pull(res, source=source)
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        worker = threading.Thread(target=run)
        fault["injected"] = "pg_terminate_backend() on the pull's session to the health database mid-pull"
        try:
            worker.start()
            pid = wait_until(lambda: (r := monitor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock' "
                "AND query ILIKE '%%card_visits%%' AND pid <> pg_backend_pid()", (db.engine.url.database,)).fetchone())
                and r[0], what="the pull to block on the source table")
            monitor.execute("SELECT pg_terminate_backend(%s)", (pid,))
        finally:
            locker.rollback()
            locker.close()
            worker.join(60)
            monitor.close()
        assert errors, "the broken pull must fail (and the task be retried), not report success"
        assert state() == before, "watermark and core unchanged by the failed pull"

        dispose_source_engines()
        again = pull(res, source=make_source(res))
        assert again.status in ("loaded", "partial")
        mark, n = state()
        assert mark is not None and mark > before[0]
        with db.engine.connect() as conn:
            source_rows = conn.execute(text("SELECT COUNT(*) FROM card_visits")).scalar()
        assert n + 0 <= source_rows and again.rows_read == again.rows_loaded + again.rows_quarantined + again.rows_duplicate
        fault.update(outcome=f"{type(errors[0]).__name__}: watermark and core unchanged; next pull read "
                             f"{again.rows_read} rows and advanced the watermark", rows_lost=0, ok=True)
    finally:
        db.dispose()
        dispose_source_engines()
