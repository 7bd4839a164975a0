"""Entry points the DAGs call: plain functions with JSON-serialisable arguments and results."""

from __future__ import annotations

from pathlib import Path

from citydata import landing
from citydata.config import settings
from citydata.errors import CitydataError
from citydata.registry import load_registry


def list_waiting(department: str) -> list[str]:
    """Paths (relative to the landing dir) of every complete file waiting for a department."""
    cfg = settings()
    files = landing.waiting_files(load_registry(), department, cfg)
    return [str(f.path.relative_to(cfg.landing_dir)) for f in files]


def ingest_path(department: str, relative: str) -> dict:
    """Ingest one waiting file; returns its audit record. A file already gone was handled by another run."""
    from citydata.ingest import ingest_file

    cfg = settings()
    registry = load_registry()
    path = (cfg.landing_dir / relative)
    if Path(relative).is_absolute() or ".." in Path(relative).parts or not relative.startswith(f"{department}/"):
        raise CitydataError(f"refusing path {relative!r}: not inside landing/{department}/")
    matches = [f for f in landing.waiting_files(registry, department, cfg) if f.path == path]
    if not matches:
        return {"department": department, "resource": None, "source": relative, "status": "skipped",
                "reason": "no longer waiting (already processed)"}
    return ingest_file(matches[0], registry, cfg).as_dict()
