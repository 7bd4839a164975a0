"""audit.access_log: every call to the sharing API, allowed or refused (安全审计). Append-only."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection

from citydata.exchange.common import as_utc, rows, sql, ts_param, utcnow
from citydata.warehouse.db import transaction


def write(url: str, *, consumer: str | None, method: str, path: str, resource: str | None, cursor: str | None,
          rows_returned: int, status: int, client_addr: str | None, detail: str | None = None,
          t_request: dt.datetime | None = None) -> None:
    """One row, in its own transaction (a refused call is logged although nothing else happens)."""
    with transaction(url) as conn:
        conn.execute(sql(conn, "access_log_insert.sql"), {
            "t_request": ts_param(t_request or utcnow(), conn.dialect.name), "consumer": consumer, "method": method,
            "path": path[:500], "resource": resource, "cursor": cursor[:500] if cursor else None,
            "rows_returned": int(rows_returned), "status": int(status), "client_addr": client_addr,
            "detail": (detail or None) and detail[:300]})


def entries(conn: Connection, consumer: str | None = None, resource: str | None = None,
            limit: int = 1000) -> list[dict]:
    out = rows(conn, "access_log_list.sql", {"consumer": consumer, "resource": resource, "limit": int(limit)})
    for r in out:
        r["t_request"] = as_utc(r["t_request"])
    return out
