"""`citydata setup-roles`: warehouse tables plus the sharing roles and grants, reporting what was done."""

from __future__ import annotations

from citydata.bootstrap import ensure_schema
from citydata.config import settings
from citydata.registry import load_registry
from citydata.share.roles import setup_roles
from citydata.warehouse.db import transaction


def setup_sharing(url: str | None = None) -> list[str]:
    """Idempotent; raises a one-line error when the database user may not create roles."""
    registry = load_registry()
    url = url or settings().warehouse_url
    ensure_schema(registry, url)
    with transaction(url) as conn:
        if conn.dialect.name != "postgresql":
            return ["embedded SQLite warehouse: sharing tables exist; roles are a PostgreSQL feature (nothing to do)"]
        roles = setup_roles(conn, registry)
    return [f"role {r}: ready" for r in roles]
