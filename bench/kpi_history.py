"""Synthetic warehouse history for the kpi benchmark, generated inside PostgreSQL (generate_series).

Every registry resource gets rows_per_day / len(resources) rows per day for ``days`` days,
event times evenly spread, one load batch per resource and 15 minutes (audit.ingest_log,
t_landed 2 minutes after the slot) and, for shared resources, a publication 1 minute later
(audit.publish_log). Deterministic. Indexes are dropped during the fill and rebuilt after
(the same first-load trick as citydata.warehouse.load), then the tables are analysed.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from citydata.registry import Registry, Resource
from citydata.warehouse.db import transaction

SLOT_S = 900
VALUES = {"status": "'active'", "customer_type": "'residential'", "read_mode": "'remote'", "read_method": "'auto'"}


def _expr(resource: Resource, name: str, kind: str, event: str) -> str:
    if name == resource.event_time or (kind == "timestamp" and name in resource.primary_key):
        return event
    if name in resource.primary_key:
        return "g" if kind == "integer" else "'K' || g"
    if name in VALUES:
        return VALUES[name]
    return {"string": "'v' || (g % 50)", "integer": "g % 100", "float": "(g % 1000) * 0.5", "boolean": "g % 2 = 0",
            "timestamp": event, "date": f"CAST({event} AS DATE)"}[kind]


def fill(url: str, registry: Registry, *, start: dt.datetime, days: int, rows_per_day: int) -> int:
    """Write the history; returns the number of core rows written."""
    resources = registry.resources
    per_resource = max(1, rows_per_day // len(resources)) * days
    span_s = days * 86400
    slots = span_s // SLOT_S
    total = 0
    with transaction(url) as conn:
        conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        conn.execute(text("SET LOCAL work_mem = '256MB'"))
        for n, r in enumerate(resources):
            base = (n + 1) * 1_000_000
            table = f"core.{r.table}"
            conn.execute(text(
                "INSERT INTO audit.ingest_log (batch_id, department, resource, source_kind, source, status, "
                "started_at, t_landed) OVERRIDING SYSTEM VALUE "
                "SELECT :base + s, :dept, :res, 'bench', 'history', 'loaded', "
                "  :start + (s + 1) * interval '15 minutes', :start + (s + 1) * interval '15 minutes' + interval '2 minutes' "
                "FROM generate_series(0, :slots - 1) AS s"),
                {"base": base, "dept": r.department, "res": r.name, "start": start, "slots": slots})
            if r.sharing_type != "不予共享":
                conn.execute(text(
                    "INSERT INTO audit.publish_log (department, resource, batch_id, sharing_type, audience, "
                    "rows_published, t_published) "
                    "SELECT department, resource, batch_id, :st, 'bench', 0, t_landed + interval '1 minute' "
                    "FROM audit.ingest_log WHERE batch_id BETWEEN :base AND :base + :slots - 1"),
                    {"st": r.sharing_type, "base": base, "slots": slots})
            indexes = conn.execute(text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'core' AND tablename = :t "
                "AND indexname NOT LIKE '%\\_pkey'"), {"t": r.table}).all()
            for name, _ in indexes:
                conn.execute(text(f"DROP INDEX core.{name}"))
            step_us = span_s * 1_000_000 // per_resource
            event = f"(CAST(:start AS timestamptz) + g * interval '{step_us} microseconds')"
            cols = [f.name for f in r.fields]
            exprs = [_expr(r, f.name, f.type, event) for f in r.fields]
            batch = f"{base} + (g * {step_us}) / {SLOT_S * 1_000_000}"
            conn.execute(text(
                f"INSERT INTO {table} ({', '.join(cols)}, _batch_id) "
                f"SELECT {', '.join(exprs)}, {batch} FROM generate_series(CAST(0 AS BIGINT), :n - 1) AS g"),
                {"start": start, "n": per_resource})
            for _, definition in indexes:
                conn.execute(text(definition))
            total += per_resource
    with transaction(url) as conn:
        conn.execute(text("ANALYZE"))
    return total
