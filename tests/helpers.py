"""Small helpers shared by tests: write deliveries, count warehouse rows."""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from pathlib import Path

from sqlalchemy import text

from citydata.config import settings
from citydata.domain.time import LOCAL_TZ
from citydata.warehouse.db import engine, qualify, transaction


def drop(department: str, resource: str, name: str, rows: list[dict], columns: list[str] | None = None,
         encoding: str = "utf-8") -> Path:
    """Write a CSV delivery into the landing zone, as a department would."""
    path = settings().landing_dir / department / resource / name
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = columns or list(rows[0])
    with path.open("w", encoding=encoding, newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return path


def count(layer: str, table: str, where: str = "") -> int:
    eng = engine()
    with eng.connect() as conn:
        name = qualify(layer, table, conn.dialect.name)
        return conn.execute(text(f"SELECT COUNT(*) FROM {name} {where}")).scalar_one()


def fetch(sql: str, **params: object) -> list[dict]:
    eng = engine()
    with eng.connect() as conn:
        from citydata.warehouse.db import render

        return [dict(r) for r in conn.execute(text(render(sql, conn.dialect.name)), params).mappings()]


def recent(hours: float = 1.0) -> dt.datetime:
    """A recent event time in Asia/Shanghai, whole minutes (suites reject stale and future times)."""
    t = dt.datetime.now(LOCAL_TZ) - dt.timedelta(hours=hours)
    return t.replace(second=0, microsecond=0)


def local_text(t: dt.datetime) -> str:
    """How departments write times: naive local wall-clock text."""
    return t.strftime("%Y-%m-%d %H:%M:%S")


def _as_utc(value: dt.datetime | str) -> dt.datetime:
    if isinstance(value, str):  # SQLite text
        value = dt.datetime.fromisoformat(value)
    return value.astimezone(dt.UTC)


def recount_events(url: str, table: str, event: str) -> Counter:
    """Rows per (batch, event second) of a core table, counted here in Python."""
    with transaction(url) as conn:
        rows = conn.execute(text(f"SELECT _batch_id, {event} FROM {qualify('core', table, conn.dialect.name)}")).all()
    return Counter((b, _as_utc(t).replace(microsecond=0)) for b, t in rows if t is not None)


def event_counts(url: str, department: str, resource: str) -> Counter:
    """audit.batch_events of one resource, as recount_events shapes them."""
    with transaction(url) as conn:
        rows = conn.execute(text(
            f"SELECT batch_id, t_event, n FROM {qualify('audit', 'batch_events', conn.dialect.name)} "
            "WHERE department = :d AND resource = :r AND n <> 0"), {"d": department, "r": resource}).all()
    return Counter({(b, _as_utc(t)): n for b, t, n in rows})
