"""meta.watermarks: how far each pulled source has been loaded (read and written inside load transactions)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, text

from citydata.sources.base import parse_time
from citydata.warehouse.db import sql_file
from citydata.warehouse.load import ts_param, utcnow


def get(conn: Connection, department: str, resource: str, source: str) -> dt.datetime | None:
    value = conn.execute(text(sql_file("meta/get_watermark.sql", conn.dialect.name)),
                         {"department": department, "resource": resource, "source": source}).scalar()
    return parse_time(value)


def put(conn: Connection, department: str, resource: str, source: str, watermark: dt.datetime) -> None:
    """Store as fixed-width UTC ISO text (sorts and compares the same on both dialects)."""
    conn.execute(text(sql_file("meta/set_watermark.sql", conn.dialect.name)),
                 {"department": department, "resource": resource, "source": source,
                  "watermark": watermark.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00"),
                  "updated_at": ts_param(utcnow(), conn.dialect.name)})
