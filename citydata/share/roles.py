"""PostgreSQL roles and grants of the sharing layer (idempotent; no passwords, NOLOGIN roles).

- ``share_reader``: USAGE on schema share, SELECT on every 无条件共享 table.
- ``share_consumer_<consumer>``: member of share_reader, plus SELECT on the 有条件共享
  tables the consumer has an approved access request for (citydata.exchange.access; the
  registry's consumers are pre-approved requests).
Nobody but the owner gets anything on raw, core, audit, quality, meta. Deployments give
LOGIN users membership in these roles (``GRANT share_reader TO alice``).
On SQLite there are no roles: the same tables exist, access is the file's.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, text

from citydata.errors import CitydataError
from citydata.exchange.grants import grant_consumers, grants
from citydata.registry import IDENT, Registry
from citydata.share.tables import share_table
from citydata.warehouse.db import LAYERS, idents, run_file

log = logging.getLogger(__name__)
READER = "share_reader"


def consumer_role(consumer: str) -> str:
    """Role of a consuming department; the name is checked since it is spliced into DDL."""
    if not IDENT.match(consumer):
        raise CitydataError(f"registry: consumer {consumer!r} is not a valid identifier (lower-case letters, digits, _)")
    return f"share_consumer_{consumer}"


def _create_role(conn: Connection, role: str) -> None:
    # CREATE ROLE has no IF NOT EXISTS, and roles are cluster-wide: tolerate a concurrent creator.
    conn.execute(text(
        "DO $$ BEGIN "
        f"IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN CREATE ROLE {role} NOLOGIN; END IF; "
        "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
    ))


def join_reader(conn: Connection, role: str) -> None:
    """Make a consumer role a member of share_reader (idempotent)."""
    # Membership lives in a cluster-wide catalog: write it only once, tolerate a concurrent writer.
    conn.execute(text(
        f"DO $$ BEGIN IF NOT pg_has_role('{role}', '{READER}', 'MEMBER') THEN GRANT {READER} TO {role}; END IF; "
        "EXCEPTION WHEN OTHERS THEN NULL; END $$"
    ))


def setup_roles(conn: Connection, registry: Registry) -> list[str]:
    """Create roles and (re)apply grants; returns the roles. PostgreSQL only (no-op elsewhere)."""
    if conn.dialect.name != "postgresql":
        return []
    conn.execute(text("SELECT pg_advisory_xact_lock(7160322)"))

    roles = [READER] + [consumer_role(c) for c in sorted(set(registry.consumers) | grant_consumers(conn))]
    for role in roles:
        _create_role(conn, role)
    for role in roles[1:]:
        join_reader(conn, role)
    for layer in LAYERS:
        if layer != "share":
            for role in roles:
                conn.execute(text(f"REVOKE ALL ON ALL TABLES IN SCHEMA {layer} FROM {role}"))
                conn.execute(text(f"REVOKE ALL ON SCHEMA {layer} FROM {role}"))
    conn.execute(text(f"GRANT USAGE ON SCHEMA share TO {', '.join(roles)}"))
    for resource in registry.resources:
        if not resource.shared:
            continue
        table = share_table(resource, "postgresql")
        for role in roles:
            conn.execute(text(f"REVOKE ALL ON {table} FROM {role}"))
        if resource.sharing_type == "无条件共享":
            conn.execute(text(f"GRANT SELECT ON {table} TO {READER}"))
        else:  # 有条件共享: what the approved requests say (registry consumers are pre-approved ones)
            for consumer, cols in grants(conn, resource):
                what = "SELECT" if cols is None else f"SELECT ({idents(cols)})"
                conn.execute(text(f"GRANT {what} ON {table} TO {consumer_role(consumer)}"))
    run_file(conn, "roles/least_privilege.sql")  # ingest writer and dashboard reader
    writers = [department_writer(conn, registry, d) for d in sorted(registry.departments)]
    return [*roles, "citydata_ingest_writer", "citydata_dashboard_reader", *writers]


def department_role(department: str) -> str:
    return f"citydata_ingest_{department}"


def department_writer(conn: Connection, registry: Registry, department: str) -> str:
    """The ingest role of one department (roles/department_writer.sql) plus its own core tables and,
    since an ingest publishes right after loading, its own share tables (masked; SELECT because
    INSERT ... ON CONFLICT DO UPDATE reads them): a run loading that department cannot read or
    change another department's data."""
    role = department_role(department)
    if role == "citydata_ingest_writer":
        raise CitydataError("registry: a department may not be called 'writer' (its ingest role would be "
                            "the shared citydata_ingest_writer)")
    _create_role(conn, role)
    run_file(conn, "roles/department_writer.sql", role=role, department=department,
             department_literal=f"'{department}'")  # a registry identifier: [a-z][a-z0-9_]*
    for resource in registry.department(department).resources.values():
        conn.execute(text(f"GRANT SELECT, INSERT, UPDATE ON core.{resource.table} TO {role}"))
        if resource.shared:
            conn.execute(text(f"GRANT SELECT, INSERT, UPDATE ON {share_table(resource, 'postgresql')} TO {role}"))
    return role


def audience(resource_sharing_type: str, consumers: tuple[str, ...]) -> str:
    """Who can read a published resource, as recorded in audit.publish_log."""
    if resource_sharing_type == "无条件共享":
        return READER
    return ",".join(consumer_role(c) for c in consumers)


def try_setup_roles(conn: Connection, registry: Registry) -> bool:
    """setup_roles inside a savepoint: a warehouse user without CREATEROLE still loads data.

    Without the roles nobody but the owner can read the sharing layer (fail closed); the
    warning says to run ``citydata setup-roles`` as an administrator.
    """
    if conn.dialect.name != "postgresql":
        return False
    from sqlalchemy.exc import DBAPIError

    try:
        with conn.begin_nested():
            setup_roles(conn, registry)
        return True
    except DBAPIError as exc:
        first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        log.warning("sharing roles not set up (%s): run 'citydata setup-roles' as a database administrator", first)
        return False
