"""Entry points the DAGs call: plain functions with JSON-serialisable arguments and results."""

from __future__ import annotations

import logging
from pathlib import Path

from citydata.config import settings
from citydata.domain.masking import safe_label
from citydata.errors import CitydataError
from citydata.ingest import landing
from citydata.registry import load_registry

log = logging.getLogger(__name__)


def list_waiting(department: str) -> list[str]:
    """Paths (relative to the landing dir) of every complete file waiting for a department."""
    cfg = settings()
    landing.recover_claims(cfg)  # files held by a run that was killed are waiting again
    files = landing.waiting_files(load_registry(), department, cfg)
    return [landing.handle(f, cfg) for f in files]


def ingest_waiting(department: str, run_id: str | None = None) -> list[dict]:
    """Every file waiting for a department, one after another in this one process; their records.

    One task per run pays the task start-up and the imports once, not once per file. Runs may
    overlap: a file another run claimed first comes back "skipped". A failure that is not a
    rejection (a malformed suite, the warehouse gone) is that file's record with status "error"
    (its reason our own words or the error's kind) and the next file goes on; the file stays waiting.
    """
    out = []
    for handle in list_waiting(department):
        try:
            record = ingest_path(department, handle, run_id=run_id)
        except Exception as exc:  # noqa: BLE001 — one file's trouble must not hold up the others
            reason = str(exc) if isinstance(exc, CitydataError) else f"{type(exc).__name__} while loading"
            log.warning("%s: not loaded, left waiting: %s", handle, reason)
            record = {"department": department, "resource": None, "source": handle, "status": "error",
                      "reason": reason}
        out.append({**record, "handle": handle})
    return out


def ingest_path(department: str, relative: str, run_id: str | None = None) -> dict:
    """Ingest one waiting file (``relative``: a path or a ``list_waiting`` handle); returns its audit
    record. A file already gone was handled by another run.

    ``run_id`` (the Airflow run) is recorded on the audit row, so reports can name the run.
    """
    from citydata.ingest.pipeline import ingest_file

    cfg = settings()
    registry = load_registry()
    shown = "/".join(landing.printable(safe_label(p)) for p in relative.split("/"))
    if Path(relative).is_absolute() or ".." in Path(relative).parts or not relative.startswith(f"{department}/"):
        raise CitydataError(f"refusing path {shown!r}: not inside landing/{department}/")
    landed = landing.resolve(relative, registry, department, cfg)
    if landed is None:
        return {"department": department, "resource": None, "source": shown, "status": "skipped",
                "reason": "no longer waiting (already processed)"}
    record = ingest_file(landed, registry, cfg, run_id=run_id).as_dict()
    if record["status"] in ("loaded", "partial") and record.get("resource"):
        record["published"] = publish_after_ingest(department, record["resource"])
    return record


def publish_after_ingest(department: str, resource: str) -> int:
    """Publish a resource's newly landed batches to the sharing layer (idempotent); returns rows published.

    Every ingest path (files, HTTP pulls, database pulls) calls this right after its commit.
    """
    from citydata.share.publish import publish_resource

    pubs = publish_resource(load_registry().resource(department, resource))
    return sum(p.rows_published for p in pubs)


def pull_resource(department: str, resource: str, run_id: str | None = None) -> dict:
    """Pull one http/sql resource since its watermark and load it; returns its audit record.

    status "skipped" when the registry's source is not configured here (its environment
    variable is unset): files for the resource are still accepted. An unreachable source
    raises CitydataError (the task fails; other resources are unaffected).
    """
    from citydata.sources.pull import SourceNotConfigured, pull

    res = load_registry().resource(department, resource)
    try:
        record = pull(res, run_id=run_id).as_dict()
    except SourceNotConfigured as exc:
        return {"department": department, "resource": resource, "source": None, "status": "skipped",
                "reason": str(exc)}
    if record["status"] in ("loaded", "partial"):
        record["published"] = publish_after_ingest(department, resource)
    return record
