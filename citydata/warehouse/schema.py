"""Create the warehouse idempotently: base tables plus one core table per registry resource."""

from __future__ import annotations

from sqlalchemy import Connection, inspect, text

from citydata.registry import Registry, Resource
from citydata.warehouse.db import LAYERS, TYPES, ident, idents, qualify, run_file
from citydata.warehouse.event_counts import ensure_event_count_table, ensure_event_counts


def column_defs(resource: Resource, dialect: str) -> str:
    types = TYPES[dialect]
    cols = []
    for f in resource.fields:
        null = " NOT NULL" if f.name in resource.primary_key else ""
        cols.append(f"{ident(f.name)} {types[f.type]}{null}")
    return ",\n    ".join(cols)


def create_core_table(conn: Connection, resource: Resource) -> None:
    dialect = conn.dialect.name
    run_file(
        conn,
        "ddl/core_table.sql",
        table=qualify("core", resource.table, dialect),
        columns=column_defs(resource, dialect),
        primary_key=idents(resource.primary_key),
        index_prefix=f"core_{resource.table}",
        event_time=ident(resource.event_time),
    )
    add_new_columns(conn, "core", resource)
    if resource.role == "energy_readings" and resource.primary_key[:2] != ("meter_id", resource.event_time):
        run_file(conn, "ddl/meter_probe_index.sql", table=qualify("core", resource.table, dialect),
                 index_prefix=f"core_{resource.table}", event_time=ident(resource.event_time))
    ensure_event_counts(conn, resource)


def add_new_columns(conn: Connection, layer: str, resource: Resource) -> list[str]:
    """A field added to the registry later becomes a nullable column of the existing table."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        existing = {c["name"] for c in inspect(conn).get_columns(resource.table, schema=layer)}
    else:
        existing = {c["name"] for c in inspect(conn).get_columns(qualify(layer, resource.table, dialect))}
    added = [f for f in resource.fields if f.name not in existing]
    for f in added:
        conn.execute(text(f"ALTER TABLE {qualify(layer, resource.table, dialect)} ADD COLUMN {ident(f.name)} "
                          f"{TYPES[dialect][f.type]}"))
    return [f.name for f in added]


SCHEMA_LOCK = 7160321  # the advisory lock every schema set-up holds (PostgreSQL)


def ensure_warehouse(conn: Connection, registry: Registry) -> None:
    """Schemas, base tables and every resource's core table (safe to repeat); see citydata.bootstrap."""
    if conn.dialect.name == "postgresql":
        # Concurrent first runs would race on CREATE SCHEMA; serialise them.
        conn.execute(text(f"SELECT pg_advisory_xact_lock({SCHEMA_LOCK})"))
        for layer in LAYERS:
            conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {layer}"))
    run_file(conn, "ddl/base.sql")
    if _migrate_rows_stale(conn):
        run_file(conn, "ddl/base.sql")  # the rebuilt table's indexes
    if conn.dialect.name == "postgresql":
        run_file(conn, "audit/close_batch_function_postgresql.sql")  # the only way an audit row changes
        run_file(conn, "audit/open_only_function_postgresql.sql")  # and a loader's new row starts 'loading'
        run_file(conn, "audit/open_only_postgresql.sql")
    ensure_event_count_table(conn)  # before the core tables: their triggers write to it
    run_file(conn, "ddl/quality.sql")  # validation summaries (data-quality gates)
    run_file(conn, "notify/ddl.sql")  # outgoing emails and the batches they cover (issue 6)
    for resource in registry.resources:
        create_core_table(conn, resource)


def _migrate_rows_stale(conn: Connection) -> bool:
    """An audit log from before versions were compared gains rows_stale and the widened accounting check."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        columns = {c["name"] for c in inspect(conn).get_columns("ingest_log", schema="audit")}
    else:
        columns = {c["name"] for c in inspect(conn).get_columns(qualify("audit", "ingest_log", dialect))}
    if "rows_stale" in columns:
        return False
    run_file(conn, f"ddl/migrate_rows_stale_{'postgresql' if dialect == 'postgresql' else 'sqlite'}.sql")
    return True
