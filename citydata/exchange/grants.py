"""Which consumers may read which conditional share tables: the approved access requests.

Its own module so the sharing layer's roles (citydata.share.roles) read the grants without
importing the request workflow, which itself creates those roles.
"""

from __future__ import annotations

import json

from sqlalchemy import Connection

from citydata.exchange.common import rows
from citydata.registry import Resource


def grant_consumers(conn: Connection) -> set[str]:
    """Consumers with an approved request (their roles must exist beside the registry's)."""
    return {r["consumer"] for r in rows(conn, "request_consumers.sql")}


def grants(conn: Connection, resource: Resource) -> list[tuple[str, list[str] | None]]:
    """(consumer, columns or None for the whole table) for every approved request of a resource."""
    out: dict[str, list[str] | None] = {}
    for r in rows(conn, "request_approved.sql", {"department": resource.department, "resource": resource.name,
                                                 "consumer": None}):
        cols = json.loads(r["fields"]) if r["fields"] else None
        if r["consumer"] in out and out[r["consumer"]] is None:
            continue
        if cols is None:
            out[r["consumer"]] = None
        else:
            merged = set(out.get(r["consumer"]) or ()) | set(cols) | set(resource.primary_key)
            out[r["consumer"]] = sorted(merged) + ["_batch_id", "_t_published"]
    return sorted(out.items())
