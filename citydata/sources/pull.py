"""One incremental pull: read the watermark, fetch, then load and advance the watermark in ONE transaction.

The fetch runs outside the write transaction (network retries must not hold the
warehouse's write lock); the load and the new watermark commit together, so a failed or
rejected load leaves the watermark where it was and the next run pulls the same rows
again. Records changed after a pull have a newer update time and are read by the next
one; re-read rows that did not change are skipped by the upsert (counted as duplicates).

Connection settings come from the registry's `source:` mapping of the resource, e.g.
  source: {url_env: CITYDATA_PARKING_API_URL, token_env: CITYDATA_PARKING_API_TOKEN, path: /api/v1/sessions}
  source: {url_env: CITYDATA_HEALTH_DB_URL, table: card_visits}
Optional keys: watermark_field (default updated_at if a field, else the event time),
overlap_seconds (http 0, sql 60), page_size, timeout_seconds, max_retries, batch_rows.
"""

from __future__ import annotations

import logging
import os

from sqlalchemy import text

from citydata.config import Settings, settings
from citydata.errors import CitydataError, FileRejected
from citydata.ingest.landing import mask_text
from citydata.ingest.pipeline import AuditRecord, load_batches, prepare
from citydata.quality.suites import warm as warm_gx
from citydata.registry import Registry, Resource, load_registry
from citydata.sources import watermarks
from citydata.sources.base import Source
from citydata.warehouse.db import sql_file, transaction
from citydata.warehouse.load import ts_param, utcnow

log = logging.getLogger(__name__)

HTTP_KEYS = {"url", "url_env", "token", "token_env", "path", "watermark_field", "overlap_seconds", "page_size",
             "timeout_seconds", "max_retries", "backoff_seconds"}
SQL_KEYS = {"url", "url_env", "table", "watermark_field", "overlap_seconds", "batch_rows"}


class SourceNotConfigured(CitydataError):
    """The registry names an environment variable that is not set: nothing to pull from here."""


def _setting(resource: Resource, cfg: dict, name: str, required: bool = True) -> str | None:
    if cfg.get(name):
        return str(cfg[name])
    env = cfg.get(f"{name}_env")
    if env and os.environ.get(env):
        return os.environ[env]
    if required:
        hint = f"set {env}" if env else f"add source.{name} or source.{name}_env to the registry"
        raise SourceNotConfigured(f"{resource.key}: {resource.arrival} source {name} not configured ({hint})")
    return None


def make_source(resource: Resource) -> Source:
    """The connector the registry's `arrival` and `source:` describe for this resource."""
    cfg = dict(resource.source)
    allowed = HTTP_KEYS if resource.arrival == "http" else SQL_KEYS if resource.arrival == "sql" else set()
    if not allowed:
        raise CitydataError(f"{resource.key}: arrival is {resource.arrival!r}; only http and sql resources are pulled")
    unknown = sorted(set(cfg) - allowed)
    if unknown:
        raise CitydataError(f"{resource.key}: unknown source setting(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})")
    names = [f.name for f in resource.fields]
    wm = cfg.get("watermark_field") or ("updated_at" if "updated_at" in names else resource.event_time)
    if wm not in names:
        raise CitydataError(f"{resource.key}: source watermark_field {wm!r} is not one of the fields")
    url = _setting(resource, cfg, "url")
    if resource.arrival == "http":
        from citydata.sources.http import HttpSource

        if not cfg.get("path"):
            raise CitydataError(f"{resource.key}: http source needs source.path (e.g. /api/v1/{resource.name})")
        return HttpSource(url, cfg["path"], token=_setting(resource, cfg, "token", required=False), columns=names,
                          watermark_field=wm, page_size=int(cfg.get("page_size", 500)),
                          timeout=float(cfg.get("timeout_seconds", 10)), max_retries=int(cfg.get("max_retries", 5)),
                          backoff=float(cfg.get("backoff_seconds", 0.5)),
                          overlap_seconds=float(cfg.get("overlap_seconds", 0)), label=resource.key)
    from citydata.sources.sql import SqlSource

    return SqlSource(url, cfg.get("table") or resource.name, names, key=list(resource.primary_key),
                     watermark_field=wm, overlap_seconds=float(cfg.get("overlap_seconds", 60)),
                     batch_rows=int(cfg.get("batch_rows", 10_000)), label=resource.key)


def _audit_failed(cfg: Settings, resource: Resource, source: Source, reason: str, rows_read: int,
                  run_id: str | None) -> int:
    """A pull that loaded nothing (rejected or unreachable): one audit row, watermark untouched."""
    with transaction(cfg.warehouse_url) as conn:
        now = ts_param(utcnow(), conn.dialect.name)
        batch_id = conn.execute(text(sql_file("audit/open_batch.sql", conn.dialect.name)), {
            "department": resource.department, "resource": resource.name, "source_kind": source.kind,
            "source": source.name, "checksum": None, "run_id": run_id, "started_at": now}).scalar_one()
        conn.execute(text(sql_file("audit/close_batch.sql", conn.dialect.name)), {
            "batch_id": batch_id, "status": "rejected", "rows_read": rows_read, "rows_loaded": 0,
            "rows_quarantined": rows_read, "rows_duplicate": 0, "rows_stale": 0, "reason": mask_text(reason)[:1000], "t_landed": None})
    return batch_id


def pull(resource: Resource, *, registry: Registry | None = None, cfg: Settings | None = None,
         source: Source | None = None, run_id: str | None = None) -> AuditRecord:
    """Pull what changed since the watermark and load it. Raises CitydataError if the source fails.

    A load the checks reject is audited as rejected and returned (status "rejected");
    in both cases the watermark stays where it was.
    """
    registry = registry or load_registry()
    cfg = cfg or settings()
    prepare(registry, cfg)
    source = source or make_source(resource)
    with transaction(cfg.warehouse_url) as conn:
        since = watermarks.get(conn, resource.department, resource.name, source.name)
    try:
        pulled = source.pull(since)
    except CitydataError as exc:
        _audit_failed(cfg, resource, source, f"source unavailable: {exc}", 0, run_id)
        raise
    log.info("%s: fetched %d row(s) in %d page(s) since %s", resource.key, pulled.rows, pulled.pages, since)
    warm_gx(resource)  # GX's start-up (when a rule needs it) before the write transaction holds the warehouse
    try:
        with transaction(cfg.warehouse_url) as conn:
            _, record = load_batches(conn, resource, pulled.batches, source_kind=source.kind, source=source.name,
                                     run_id=run_id)
            if pulled.watermark is not None and (since is None or pulled.watermark > since):
                watermarks.put(conn, resource.department, resource.name, source.name, pulled.watermark)
    except FileRejected as rej:
        reason = mask_text(f"{rej.reason}: {rej.details}" if rej.details else rej.reason)
        batch_id = _audit_failed(cfg, resource, source, reason, rej.rows_read, run_id)
        log.warning("%s: pull rejected, watermark kept at %s: %s", resource.key, since, reason)
        return AuditRecord(resource.department, resource.name, source.name, "rejected", rej.rows_read, 0,
                           rej.rows_read, 0, reason, batch_id)
    return record
