"""Publish landed batches to the sharing layer, masked, per sharing type; idempotent.

A publication copies the core rows a load batch last changed into ``share.<table>`` (masking
every sensitive field with citydata.domain.masking), writes them as Parquet for file exchange, and
records one audit.publish_log row whose t_published is stamped after every write, just
before COMMIT. Publishing a batch twice is a no-op (the log has one row per batch), and
concurrent publishers of one resource queue on a lock.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass

from sqlalchemy import Connection, text

from citydata.config import Settings, settings
from citydata.domain.masking import mask_record
from citydata.registry import Registry, Resource
from citydata.share.export import write_parquet
from citydata.share.roles import audience
from citydata.share.tables import share_table
from citydata.warehouse.db import ident, idents, qualify, sql_file, transaction
from citydata.warehouse.load import ts_param, utcnow

log = logging.getLogger(__name__)


@dataclass
class Publication:
    department: str
    resource: str
    batch_id: int
    sharing_type: str
    audience: str
    rows_published: int
    files: list[str]
    t_published: dt.datetime

    def as_dict(self) -> dict:
        d = asdict(self)
        d["t_published"] = self.t_published.isoformat()
        return d


def _lock(conn: Connection, resource: Resource) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"publish:{resource.key}"})


def pending_batches(conn: Connection, resource: Resource) -> list[int]:
    rows = conn.execute(text(sql_file("share/pending_batches.sql", conn.dialect.name)),
                        {"department": resource.department, "resource": resource.name})
    return [int(r[0]) for r in rows]


def _params(resource: Resource, dialect: str) -> dict[str, str]:
    cols = [f.name for f in resource.fields]
    non_key = [c for c in cols if c not in resource.primary_key] or list(resource.primary_key)
    return {
        "target": share_table(resource, dialect),
        "source": qualify("core", resource.table, dialect),
        "columns": idents(cols),
        "primary_key": idents(resource.primary_key),
        "set_columns": ", ".join(f"{ident(c)} = excluded.{ident(c)}" for c in non_key),
        "values": ", ".join(f":{c}" for c in cols),
    }


def publish_batch(conn: Connection, resource: Resource, batch_id: int, cfg: Settings) -> Publication:
    """Publish one batch inside the caller's transaction (the caller commits right after)."""
    dialect = conn.dialect.name
    p = _params(resource, dialect)
    rows = [dict(r._mapping) for r in conn.execute(text(sql_file("share/batch_rows.sql", dialect, **p)),
                                                    {"batch_id": batch_id})]
    sensitive = any(f.sensitive for f in resource.fields)
    if sensitive:
        rows = [mask_record(r, resource) for r in rows]
    files = write_parquet(resource, batch_id, rows, cfg)
    t0 = utcnow()
    if sensitive:
        if rows:
            conn.execute(text(sql_file("share/upsert_row.sql", dialect, **p)),
                         [{**r, "_t_published": ts_param(t0, dialect)} for r in rows])
    else:
        conn.execute(text(sql_file("share/publish_rows.sql", dialect, **p)),
                     {"batch_id": batch_id, "t_published": ts_param(t0, dialect)})
    t_published = utcnow()  # after every write: the commit follows immediately
    conn.execute(text(sql_file("share/restamp.sql", dialect, **p)),
                 {"batch_id": batch_id, "t_published": ts_param(t_published, dialect)})
    who = audience(resource.sharing_type, resource.consumers)
    conn.execute(text(sql_file("share/insert_log.sql", dialect)), {
        "department": resource.department, "resource": resource.name, "batch_id": batch_id,
        "sharing_type": resource.sharing_type, "audience": who, "rows_published": len(rows),
        "files_written": len(files), "t_published": ts_param(t_published, dialect),
    })
    from citydata.exchange.objections import close_corrected

    close_corrected(conn, resource, batch_id)  # a correction closes objections to the value it changed
    return Publication(resource.department, resource.name, batch_id, resource.sharing_type, who, len(rows),
                       [str(f) for f in files], t_published)


def publish_resource(resource: Resource, url: str | None = None, cfg: Settings | None = None) -> list[Publication]:
    """Publish every landed, not yet published batch of one resource (不予共享: nothing, ever).

    One transaction per batch, so each batch's t_published is its own commit time.
    """
    if not resource.shared:
        return []
    cfg = cfg or settings()
    url = url or cfg.warehouse_url
    done: list[Publication] = []
    while True:
        with transaction(url) as conn:
            _lock(conn, resource)
            pending = pending_batches(conn, resource)
            if not pending:
                return done
            pub = publish_batch(conn, resource, pending[0], cfg)
        log.info("published %s batch %d: %d row(s) to %s", resource.key, pub.batch_id, pub.rows_published,
                 pub.audience)
        done.append(pub)


def publish_department(registry: Registry, department: str, url: str | None = None,
                       cfg: Settings | None = None) -> list[Publication]:
    """Catch up every resource of one department (called after each ingest; idempotent)."""
    out: list[Publication] = []
    for resource in registry.department(department).resources.values():
        out.extend(publish_resource(resource, url, cfg))
    return out


def publish_all(registry: Registry, url: str | None = None, cfg: Settings | None = None) -> list[Publication]:
    out: list[Publication] = []
    for department in registry.departments:
        out.extend(publish_department(registry, department, url, cfg))
    return out
