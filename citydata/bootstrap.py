"""Create the whole warehouse in dependency order: core layers, then the sharing layer, then its roles.

The warehouse package knows nothing of the sharing layer; the sharing layer builds on the warehouse's
column definitions. This module is the one place that knows the order, so neither imports the other back.
"""

from __future__ import annotations

from citydata.exchange.schema import ensure_exchange
from citydata.registry import Registry
from citydata.share.roles import try_setup_roles
from citydata.share.tables import create_share_tables
from citydata.warehouse.db import run_file, transaction
from citydata.warehouse.schema import ensure_warehouse


def ensure_schema(registry: Registry, url: str | None = None) -> None:
    """Create schemas, base tables, core, sharing-layer and KPI tables, and (PostgreSQL) sharing roles.

    Safe to repeat; one transaction, so concurrent first runs serialise on the warehouse's advisory lock.
    """
    with transaction(url) as conn:
        ensure_warehouse(conn, registry)
        ensure_exchange(conn, registry)  # consumers, requests, objections, access log
        run_file(conn, "ddl/share_kpi.sql")  # sharing-layer publish log and KPI tables
        create_share_tables(conn, registry)
        try_setup_roles(conn, registry)
