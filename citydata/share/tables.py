"""Sharing-layer tables: one ``share.<department>__<resource>`` per shared resource (not 不予共享)."""

from __future__ import annotations

from sqlalchemy import Connection

from citydata.registry import Registry, Resource
from citydata.warehouse.db import idents, qualify, run_file
from citydata.warehouse.schema import add_new_columns, column_defs


def share_table(resource: Resource, dialect: str) -> str:
    return qualify("share", resource.table, dialect)


def create_share_tables(conn: Connection, registry: Registry) -> None:
    """Create every shared resource's table (idempotent). 不予共享 resources get none."""
    dialect = conn.dialect.name
    for resource in registry.resources:
        if not resource.shared:
            continue
        run_file(
            conn,
            "share/share_table.sql",
            table=share_table(resource, dialect),
            columns=column_defs(resource, dialect),
            primary_key=idents(resource.primary_key),
            index_prefix=f"share_{resource.table}",
        )
        add_new_columns(conn, "share", resource)  # a field added to the registry later
