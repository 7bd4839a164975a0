"""Read the ingest audit log (the `citydata audit` contract)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from citydata.bootstrap import ensure_schema
from citydata.config import settings
from citydata.errors import CitydataError
from citydata.ingest.landing import printable
from citydata.registry import load_registry
from citydata.warehouse.db import sql_file, transaction

FIELDS = ("batch_id", "department", "resource", "source_kind", "source", "status", "rows_read", "rows_loaded",
          "rows_quarantined", "rows_duplicate", "rows_stale", "reason", "run_id", "started_at", "t_landed")


def _iso(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == " ":
        return dt.datetime.fromisoformat(value).astimezone(dt.UTC).isoformat()
    return value


def audit_rows(department: str | None = None, url: str | None = None, since_batch: int = 0) -> list[dict]:
    url = url or settings().warehouse_url
    registry = load_registry()
    if department is not None and department not in registry.departments:
        raise CitydataError(f"unknown department {printable(department)!r}")
    ensure_schema(registry, url)
    with transaction(url) as conn:
        rows = conn.execute(text(sql_file("audit/list.sql", conn.dialect.name)), {"department": department}).mappings()
        return [{k: _iso(r[k]) for k in FIELDS} for r in rows if r["batch_id"] > since_batch]
