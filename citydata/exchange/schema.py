"""Exchange tables, the append-only guard of audit.access_log, paging indexes, registry approvals.

Called by citydata.warehouse.schema.ensure_schema (the one bootstrap path), before the sharing
roles are set up, so setup-roles grants what the approved requests say.
"""

from __future__ import annotations

from sqlalchemy import Connection

from citydata.registry import Registry
from citydata.warehouse.db import idents, run_file


def ensure_exchange(conn: Connection, registry: Registry) -> None:
    from citydata.exchange.access import seed_registry
    from citydata.share.tables import share_table

    dialect = conn.dialect.name
    run_file(conn, "exchange/ddl.sql")
    if dialect == "postgresql":
        run_file(conn, "exchange/append_only_function_postgresql.sql")
        run_file(conn, "exchange/append_only_postgresql.sql")
    else:
        run_file(conn, "exchange/append_only_sqlite.sql")
    for resource in registry.resources:
        if resource.shared:
            run_file(conn, "share/share_table.sql", table=share_table(resource, dialect),
                     columns=_columns(resource, dialect), primary_key=idents(resource.primary_key),
                     index_prefix=f"share_{resource.table}")
            run_file(conn, "exchange/share_seq_index.sql", table=share_table(resource, dialect),
                     index_name=f"share_{resource.table}_page", primary_key=idents(resource.primary_key))
    seed_registry(conn, registry)


def _columns(resource, dialect: str) -> str:  # noqa: ANN001
    from citydata.warehouse.schema import column_defs

    return column_defs(resource, dialect)
