"""`citydata generate`: one mock delivery per resource of a department, into the landing zone."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from citydata.config import settings
from citydata.mock.delivery import write_delivery
from citydata.registry import Registry


def generate(registry: Registry, department: str, *, resources: list[str] | None = None, rows: int = 200,
             seed: int = 0, defect_rate: float = 0.0, defects: list[str] | None = None, out: Path | None = None,
             now: dt.datetime | None = None) -> list[Path]:
    """Write one mock delivery per resource under <out>/<department>/<resource>/ (default: landing zone).

    Known resources get citydata.mock's realistic rows, others generic_rows; with defects,
    the ground truth goes to $CITYDATA_HOME/manifests/ (see citydata.mock.defects).
    """
    dept = registry.department(department)
    names = resources or list(dept.resources)
    for name in names:
        registry.resource(department, name)  # fails clearly on an unknown resource
    root = out or settings().landing_dir
    now = now or dt.datetime.now(dt.UTC)
    stamp = now.strftime("%Y%m%dT%H%M%S")
    paths = []

    manifests = settings().home / "manifests"
    for name in names:
        res = dept.resources[name]
        path = root / department / name / f"{name}_{stamp}_s{seed}.{res.format}"
        written, _ = write_delivery(res, path, rows=rows, seed=seed, now=now, defect_rate=defect_rate,
                                    defects=defects, manifest_dir=manifests)
        paths.append(written)
    return paths
