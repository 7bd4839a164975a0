"""Create the warehouse idempotently: base tables plus one core table per registry resource."""

from __future__ import annotations

from sqlalchemy import Connection, text

from citydata.registry import Registry, Resource
from citydata.warehouse.db import LAYERS, TYPES, qualify, run_file, transaction


def column_defs(resource: Resource, dialect: str) -> str:
    types = TYPES[dialect]
    cols = []
    for f in resource.fields:
        null = " NOT NULL" if f.name in resource.primary_key else ""
        cols.append(f"{f.name} {types[f.type]}{null}")
    return ",\n    ".join(cols)


def create_core_table(conn: Connection, resource: Resource) -> None:
    dialect = conn.dialect.name
    run_file(
        conn,
        "ddl/core_table.sql",
        table=qualify("core", resource.table, dialect),
        columns=column_defs(resource, dialect),
        primary_key=", ".join(resource.primary_key),
        index_prefix=f"core_{resource.table}",
        event_time=resource.event_time,
    )


def ensure_schema(registry: Registry, url: str | None = None) -> None:
    """Create schemas, base tables and every resource's core table (safe to repeat)."""
    with transaction(url) as conn:
        if conn.dialect.name == "postgresql":
            # Concurrent first runs would race on CREATE SCHEMA; serialise them.
            conn.execute(text("SELECT pg_advisory_xact_lock(7160321)"))
            for layer in LAYERS:
                conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {layer}"))
        run_file(conn, "ddl/base.sql")
        for resource in registry.resources:
            create_core_table(conn, resource)
