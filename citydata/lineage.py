"""What each task read and wrote, named as OpenLineage datasets — without Airflow or OpenLineage.

The DAG tasks hand these names to the OpenLineage provider (``citydata_airflow.lineage``); this
module only decides the names, following the OpenLineage naming spec so that other producers
naming the same data agree:

- a landing file: namespace ``file://<host>``, name its absolute path;
- an HTTP API: namespace ``<scheme>://<host>:<port>``, name the endpoint path (no query, no token);
- a PostgreSQL table: namespace ``postgres://<host>:<port>``, name ``<database>.<schema>.<table>``;
- a SQLite table: namespace ``sqlite://<host><database file>``, name the table as SQLite stores it
  (``core__water__meter_readings``: SQLite has no schemas).

``<host>`` for files is ``CITYDATA_LINEAGE_HOST`` when set (every worker of one deployment then
names the shared landing volume alike), else this machine's host name.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import make_url

from citydata.config import Settings
from citydata.registry import Registry, Resource
from citydata.sources.http import HttpSource
from citydata.sources.pull import SourceNotConfigured, make_source
from citydata.sources.sql import SqlSource
from citydata.warehouse.db import normalise_url, qualify

KPI_TABLES = ("rates", "resource_rates", "gaps", "energy_coverage")
KPI_INPUTS = (("audit", "ingest_log"), ("audit", "batch_events"), ("audit", "publish_log"), ("quality", "quarantine"))


@dataclass(frozen=True)
class LineageDataset:
    """One OpenLineage dataset: where (namespace), what (name) and what we know of it (facet)."""

    namespace: str
    name: str
    facet: dict = field(default_factory=dict, compare=False)  # the citydata facet (batch id, rows, …)


@dataclass
class Lineage:
    inputs: list[LineageDataset] = field(default_factory=list)
    outputs: list[LineageDataset] = field(default_factory=list)


def combined(lineages: list[Lineage]) -> Lineage:
    """One task's lineage when it handled several deliveries (every file of a run)."""
    return Lineage(inputs=[d for li in lineages for d in li.inputs], outputs=[d for li in lineages for d in li.outputs])


def file_host() -> str:
    return os.environ.get("CITYDATA_LINEAGE_HOST") or socket.gethostname() or "localhost"


def file_dataset(path: Path, **facet: object) -> LineageDataset:
    return LineageDataset(f"file://{file_host()}", str(Path(path).absolute()), dict(facet))


def http_dataset(url: str) -> LineageDataset:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return LineageDataset(f"{parts.scheme}://{parts.hostname}:{port}", parts.path or "/")


def table_dataset(url: str, layer: str | None, table: str, **facet: object) -> LineageDataset:
    """A table of a database given by its SQLAlchemy URL; ``layer`` is our schema (None: the default)."""
    u = make_url(normalise_url(url))
    if u.get_backend_name() == "postgresql":
        return LineageDataset(f"postgres://{u.host or 'localhost'}:{u.port or 5432}",
                              f"{u.database}.{layer or 'public'}.{table}", dict(facet))
    if u.get_backend_name() == "sqlite":
        db = str(Path(u.database).absolute()) if u.database and u.database != ":memory:" else ":memory:"
        name = qualify(layer, table, "sqlite") if layer else table
        return LineageDataset(f"sqlite://{file_host()}{db}", name, dict(facet))
    return LineageDataset(f"{u.get_backend_name()}://{u.host}:{u.port}", f"{u.database}.{layer}.{table}", dict(facet))


def warehouse_table(cfg: Settings, layer: str, table: str, **facet: object) -> LineageDataset:
    return table_dataset(cfg.warehouse_url, layer, table, **facet)


def _batch_facet(record: dict) -> dict:
    keys = ("batch_id", "status", "rows_read", "rows_loaded", "rows_quarantined", "rows_duplicate", "rows_stale")
    return {k: record[k] for k in keys if record.get(k) is not None}


def _loaded_outputs(res: Resource, record: dict, cfg: Settings) -> list[LineageDataset]:
    """core (and share, when the resource is shared) for a delivery that loaded; quarantine when rows failed."""
    if record.get("status") not in ("loaded", "partial"):
        return []
    facet = _batch_facet(record)
    out = [warehouse_table(cfg, "core", res.table, **facet)]
    if res.shared:
        out.append(warehouse_table(cfg, "share", res.table, batch_id=record.get("batch_id"),
                                   rows_published=record.get("published", 0)))
    if record.get("rows_quarantined"):
        out.append(warehouse_table(cfg, "quality", "quarantine", batch_id=record.get("batch_id"),
                                   rows_quarantined=record["rows_quarantined"]))
    return out


def ingest_lineage(registry: Registry, cfg: Settings, department: str, relative: str, record: dict) -> Lineage:
    """One landing file: the file as the department delivered it → core/share tables of its resource.

    A rejected file is still the input (its ``.error.json`` says why); it has no output.
    """
    lineage = Lineage(inputs=[file_dataset(cfg.landing_dir / relative, **_batch_facet(record))])
    resource = record.get("resource")
    if resource and resource in registry.departments[department].resources:
        lineage.outputs = _loaded_outputs(registry.resource(department, resource), record, cfg)
    return lineage


def source_dataset(res: Resource) -> LineageDataset | None:
    """The pulled source of an http/sql resource, or None when it is not configured here."""
    try:
        source = make_source(res)
    except SourceNotConfigured:
        return None
    if isinstance(source, HttpSource):
        return http_dataset(source.url)
    if isinstance(source, SqlSource):
        return table_dataset(source.url, None, source.table_name)
    return None


def pull_lineage(registry: Registry, cfg: Settings, department: str, resource: str, record: dict) -> Lineage:
    """One pull: the API endpoint or source table → core/share tables of the resource."""
    res = registry.resource(department, resource)
    src = source_dataset(res)
    inputs = [LineageDataset(src.namespace, src.name, _batch_facet(record))] if src else []
    return Lineage(inputs=inputs, outputs=_loaded_outputs(res, record, cfg))


def kpi_lineage(registry: Registry, cfg: Settings) -> Lineage:
    """kpi_rates: the audit log, quarantine and the sharing layer (it publishes what is pending) → kpi tables."""
    inputs = [warehouse_table(cfg, layer, table) for layer, table in KPI_INPUTS]
    inputs += [warehouse_table(cfg, "core", r.table) for r in registry.resources if r.role]  # energy coverage
    return Lineage(inputs=inputs,
                   outputs=[warehouse_table(cfg, "kpi", t) for t in KPI_TABLES]
                   + [warehouse_table(cfg, "share", r.table) for r in registry.resources if r.shared])
