"""Small helpers shared by tests: write deliveries, count warehouse rows."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from sqlalchemy import text

from citydata.config import settings
from citydata.warehouse.db import engine, qualify


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
    from zoneinfo import ZoneInfo

    t = dt.datetime.now(ZoneInfo("Asia/Shanghai")) - dt.timedelta(hours=hours)
    return t.replace(second=0, microsecond=0)


def local_text(t: dt.datetime) -> str:
    """How departments write times: naive local wall-clock text."""
    return t.strftime("%Y-%m-%d %H:%M:%S")
