"""Per-batch event-second counts (audit.batch_events), kept exact by triggers on the core tables.

The indicators need, for every record of a period, t_landed/t_published − t_event. Both
stamps are per batch, so counts per (batch, event second) give the same record counts,
thresholds, p95 and gaps as the rows themselves, at a cost that does not grow with the rows
(include/sql/kpi/). Event times are counted by their second (rounded down), so a latency is
measured from the start of its event second: never flattering, and exact for sources that
send whole seconds (all of ours). Triggers, not the load code, keep the counts, so every
writer (loads, replays, an engineer's manual fix) is covered.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, text

from citydata.registry import Resource
from citydata.warehouse.db import ident, qualify, run_file, sql_file

PREFIX = "batch_events_"
OPERATIONS = {"postgresql": ("ins", "upd", "del", "trunc"), "sqlite": ("ins", "upd", "del")}  # triggers_*.sql


def second(expr: str, dialect: str) -> str:
    """``expr`` (a timestamp) rounded down to its second, in the dialect's timestamp form."""
    if dialect == "postgresql":
        return f"date_trunc('second', {expr})"
    return f"(substr({expr}, 1, 19) || '.000000+00:00')"


def trigger_name(resource: Resource) -> str:
    """Names the event column, so a changed event_time in the registry recreates the triggers."""
    name = f"{PREFIX}{resource.table}__{resource.event_time}"
    if len(name) > 56:  # PostgreSQL truncates names at 63 bytes; '_trunc' is appended
        name = f"{PREFIX}{hashlib.sha1(name.encode()).hexdigest()[:16]}"
    return name


def ensure_event_counts(conn: Connection, resource: Resource) -> None:
    """Create the resource's triggers unless all are there (then recount it from core); safe to repeat."""
    dialect = conn.dialect.name
    table = qualify("core", resource.table, dialect)
    name = trigger_name(resource)
    existing = {row.name for row in conn.execute(text(sql_file(f"events/existing_triggers_{dialect}.sql", dialect)),
                                                  {"table": table})}
    if {f"{name}_{op}" for op in OPERATIONS[dialect]} <= existing:
        return
    for stale in existing:  # another event column's triggers, or an incomplete set
        conn.execute(text(f"DROP TRIGGER {stale} ON {table}" if dialect == "postgresql" else f"DROP TRIGGER {stale}"))
    # DDL takes no bind parameters: the names go in as escaped literals (they are validated
    # identifiers anyway, citydata.registry).
    params = {"trigger": name, "table": table, "department": _literal(resource.department),
              "resource": _literal(resource.name), "event_column": _literal(resource.event_time),
              "event_time": ident(resource.event_time), "new_second": second(f"NEW.{ident(resource.event_time)}", dialect),
              "old_second": second(f"OLD.{ident(resource.event_time)}", dialect)}
    run_file(conn, f"events/triggers_{dialect}.sql", **params)
    run_file(conn, "events/rebuild.sql", table=table, event_time=ident(resource.event_time),
             second=second(ident(resource.event_time), dialect),
             binds={"department": resource.department, "resource": resource.name})


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def ensure_event_count_table(conn: Connection) -> None:
    run_file(conn, "events/table.sql")
    if conn.dialect.name == "postgresql":
        run_file(conn, "events/function_postgresql.sql")


def floor_seconds(times: pa.ChunkedArray | pa.Array) -> pa.Array:
    """The non-null ``times`` floored to the second: integer ticks in numpy, 8x faster than
    ``pc.floor_temporal`` (which goes through calendar fields) on 100,000 readings."""
    times = pc.drop_null(times)
    per_second = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[times.type.unit]
    ticks = np.asarray(times.cast(pa.int64()).to_numpy(zero_copy_only=False))
    return pa.array(np.floor_divide(ticks, per_second) * per_second).cast(times.type)


class SecondCounter:
    """Counts rows per event second on the Arrow side, for rows a load writes while the insert
    trigger is off (PostgreSQL direct first load: the trigger's transition table of a million
    rows cost about as much as the COPY itself)."""

    def __init__(self, resource: Resource) -> None:
        self.resource = resource
        self.parts: list[pa.Table] = []

    def add(self, table: pa.Table) -> None:
        counts = pc.value_counts(floor_seconds(table.column(self.resource.event_time)))
        self.parts.append(pa.table({"t": counts.field("values"), "n": counts.field("counts")}))

    def write(self, conn: Connection, batch_id: int) -> None:
        if not self.parts:
            return
        total = pa.concat_tables(self.parts).group_by("t").aggregate([("n", "sum")])
        conn.execute(text(sql_file("events/add_counts.sql", conn.dialect.name)), {
            "department": self.resource.department, "resource": self.resource.name, "batch_id": batch_id,
            "seconds": total.column("t").to_pylist(), "counts": total.column("n_sum").to_pylist()})
        self.parts = []
