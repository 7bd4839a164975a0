"""Synthetic warehouse history for the kpi benchmark, generated inside PostgreSQL (generate_series).

The real-time (实时) resources share rows_per_day evenly, for ``days`` days from ``start``, event
times evenly spread (sub-second apart at high densities). The other resources are registries
(meters, lots, institutions): one row per entity, as many entities as a real-time resource
has readings per 15 minutes (a meter reads every 15 minutes, so each energy reading belongs
to a meter of the registry and the day's readings are the fleet × 96). One load batch per
resource and 15 minutes since ``epoch`` (audit.ingest_log, t_landed 2 minutes after the slot)
and, for shared resources, a publication 1 minute later (audit.publish_log). The core rows go
in with INSERT, so the triggers count them into audit.batch_events exactly as for a load.
Calls with different ``first_row`` (disjoint keys) and spans stack. Deterministic. Indexes
are dropped during the fill and rebuilt after, then the tables are analysed.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from citydata.registry import Registry, Resource
from citydata.warehouse.db import transaction

SLOT_S = 900
VALUES = {"status": "'active'", "customer_type": "'residential'", "read_mode": "'remote'", "read_method": "'auto'"}


def _expr(resource: Resource, name: str, kind: str, event: str, meter: str) -> str:
    if name == resource.event_time or (kind == "timestamp" and name in resource.primary_key):
        return event
    if name == "meter_id" and resource.role == "energy_readings":
        return meter
    if name in resource.primary_key:
        return "g" if kind == "integer" else "'K' || g"
    if name in VALUES:
        return VALUES[name]
    return {"string": "'v' || (g % 50)", "integer": "g % 100", "float": "(g % 1000) * 0.5", "boolean": "g % 2 = 0",
            "timestamp": event, "date": f"CAST({event} AS DATE)"}[kind]


def fill(url: str, registry: Registry, *, start: dt.datetime, days: int, rows_per_day: int,
         epoch: dt.datetime | None = None, first_row: int = 0, counts_only: bool = False) -> int:
    """Write ``days`` of history from ``start``; returns the number of core rows written (or counted).

    ``counts_only``: write what the triggers would have counted for those rows (audit.batch_events,
    computed per second from the same even spacing) and the audit logs, but not the core rows
    themselves. The indicators of a day read only the counts and that day's core readings, so
    older days need no core rows: 30 days × 10M rows would take an hour to write and nothing
    reads them.
    """
    epoch = epoch or start
    resources = registry.resources
    realtime = [r for r in resources if r.update_cycle == "实时"]
    per_day = max(96, rows_per_day // len(realtime))
    fleet = per_day // 96
    span_s = days * 86400
    first_slot = int((start - epoch).total_seconds()) // SLOT_S
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
                "  :epoch + (s + 1) * interval '15 minutes', :epoch + (s + 1) * interval '15 minutes' + interval '2 minutes' "
                "FROM generate_series(:first, :first + :slots - 1) AS s"),
                {"base": base, "dept": r.department, "res": r.name, "epoch": epoch, "first": first_slot, "slots": slots})
            if r.sharing_type != "不予共享":
                conn.execute(text(
                    "INSERT INTO audit.publish_log (department, resource, batch_id, sharing_type, audience, "
                    "rows_published, t_published) "
                    "SELECT department, resource, batch_id, :st, 'bench', 0, t_landed + interval '1 minute' "
                    "FROM audit.ingest_log WHERE batch_id BETWEEN :lo AND :hi"),
                    {"st": r.sharing_type, "lo": base + first_slot, "hi": base + first_slot + slots - 1})
            indexes = conn.execute(text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'core' AND tablename = :t "
                "AND indexname NOT LIKE '%\\_pkey'"), {"t": r.table}).all()
            for name, _ in indexes:
                conn.execute(text(f"DROP INDEX core.{name}"))
            per_resource = per_day * days if r in realtime else fleet
            step_us = span_s * 1_000_000 // per_resource
            offset_us = int((start - epoch).total_seconds()) * 1_000_000
            event = f"(CAST(:start AS timestamptz) + (g - {first_row}) * interval '{step_us} microseconds')"
            cols = [f.name for f in r.fields]
            meter = f"'K' || ({first_row} + (g - {first_row}) % {fleet})"  # the registry's keys: 'K' || g
            exprs = [_expr(r, f.name, f.type, event, meter) for f in r.fields]
            batch = f"{base} + ({offset_us} + (g - {first_row}) * {step_us}) / {SLOT_S * 1_000_000}"
            if counts_only:  # rows k = 0 … per_resource-1 at k·step µs; second s holds those with k·step in [s, s+1)
                upto = f"LEAST((s * 1000000 + {step_us} - 1) / {step_us}, {per_resource})"  # rows before second s
                conn.execute(text(
                    "INSERT INTO audit.batch_events (department, resource, t_event, batch_id, n) "
                    f"SELECT :dept, :res, CAST(:start AS timestamptz) + s * interval '1 second', "
                    f"  {base} + ({offset_us} + s * 1000000) / {SLOT_S * 1_000_000}, n "
                    f"FROM (SELECT s, {upto.replace('s * ', '(s + 1) * ')} - {upto} AS n "
                    "      FROM generate_series(CAST(0 AS BIGINT), :span - 1) AS s) AS x WHERE n > 0"),
                    {"dept": r.department, "res": r.name, "start": start, "span": span_s})
            else:
                conn.execute(text(
                    f"INSERT INTO {table} ({', '.join(cols)}, _batch_id) "
                    f"SELECT {', '.join(exprs)}, {batch} FROM generate_series(CAST(:first AS BIGINT), :last) AS g"),
                    {"start": start, "first": first_row, "last": first_row + per_resource - 1})
            for _, definition in indexes:
                conn.execute(text(definition))
            total += per_resource
    with transaction(url) as conn:
        conn.execute(text("ANALYZE"))
    return total
