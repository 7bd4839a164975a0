"""Create the whole warehouse in dependency order: core layers, then the sharing layer, then its roles.

The warehouse package knows nothing of the sharing layer; the sharing layer builds on the warehouse's
column definitions. This module is the one place that knows the order, so neither imports the other back.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from citydata.exchange.schema import ensure_exchange
from citydata.registry import Registry
from citydata.share.roles import try_setup_roles
from citydata.share.tables import create_share_tables
from citydata.warehouse.db import SQL_DIR, engine, run_file, sql_file, transaction
from citydata.warehouse.load import ts_param, utcnow
from citydata.warehouse.schema import SCHEMA_LOCK, ensure_warehouse

PACKAGE = Path(__file__).resolve().parent


@lru_cache(maxsize=8)
def fingerprint(registry_path: str) -> str:
    """What the schema is derived from: the registry, every SQL file and the package's code (any change
    means one full set-up; a few milliseconds to compute)."""
    h = hashlib.sha256(Path(registry_path).read_bytes())
    for root, pattern in ((SQL_DIR, "*.sql"), (PACKAGE, "*.py")):
        for p in sorted(root.rglob(pattern)):
            h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def _applied(url: str | None) -> str | None:
    """The fingerprint of the warehouse's last complete set-up, read without any lock; None if unknown."""
    try:
        with engine(url).connect() as conn:
            return _read_applied(conn)
    except DBAPIError:  # no table yet (a new or older warehouse), or no right to read it
        return None


def _read_applied(conn: Connection) -> str | None:
    return conn.execute(text(sql_file("meta/get_schema_state.sql", conn.dialect.name))).scalar()


def _applied_in(conn: Connection) -> str | None:
    """The same, inside the set-up's transaction (a savepoint: a missing table must not abort it)."""
    try:
        with conn.begin_nested():
            return _read_applied(conn)
    except DBAPIError:
        return None


def ensure_schema(registry: Registry, url: str | None = None) -> None:
    """Create schemas, base tables, core, sharing-layer and KPI tables, and (PostgreSQL) sharing roles.

    Safe to repeat; one transaction, so concurrent first runs serialise on the warehouse's advisory lock.
    Skipped when the warehouse records the same fingerprint (registry, SQL, code): then nothing would
    change, and every task process would otherwise queue on that lock for DDL that does nothing.
    """
    wanted = fingerprint(str(registry.path))
    if _applied(url) == wanted:
        return
    with transaction(url) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"SELECT pg_advisory_xact_lock({SCHEMA_LOCK})"))  # ensure_warehouse takes it again
        if _applied_in(conn) == wanted:  # another process finished the same set-up while this one waited
            return
        ensure_warehouse(conn, registry)
        ensure_exchange(conn, registry)  # consumers, requests, objections, access log
        run_file(conn, "ddl/share_kpi.sql")  # sharing-layer publish log and KPI tables
        create_share_tables(conn, registry)
        roles = try_setup_roles(conn, registry)
        if roles or conn.dialect.name != "postgresql":  # roles not set up: the next process tries again
            conn.execute(text(sql_file("meta/set_schema_state.sql", conn.dialect.name)),
                         {"fingerprint": wanted, "applied_at": ts_param(utcnow(), conn.dialect.name)})
