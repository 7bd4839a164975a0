"""Mock deliveries for the landing zone.

Departments with a realistic generator (citydata.mock) use it; any other resource, such
as one added by configuration alone, gets valid rows derived from its registry fields.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
from pathlib import Path

from citydata.registry import Registry, Resource


def generic_rows(resource: Resource, rows: int, seed: int, now: dt.datetime | None = None) -> list[dict]:
    """Valid rows for any resource: unique keys, event times spread over the last hour."""
    rng = random.Random(f"{seed}:{resource.key}")
    now = now or dt.datetime.now(dt.UTC)
    out = []
    for i in range(rows):
        row: dict = {}
        for f in resource.fields:
            if f.type == "timestamp":
                t = now - dt.timedelta(seconds=rng.randint(0, 3600))
                if f.name in resource.primary_key:
                    t = now - dt.timedelta(minutes=i)
                row[f.name] = t.astimezone(dt.UTC).isoformat(timespec="seconds")
            elif f.type == "integer":
                row[f.name] = i if f.name in resource.primary_key else rng.randint(0, 100)
            elif f.type == "float":
                row[f.name] = round(rng.uniform(0, 1000), 3)
            elif f.type == "boolean":
                row[f.name] = rng.choice(["true", "false"])
            elif f.type == "date":
                row[f.name] = (now.date() - dt.timedelta(days=rng.randint(0, 3650))).isoformat()
            else:
                row[f.name] = f"{f.name.upper()}{seed:03d}{i:07d}" if f.name in resource.primary_key else f"{f.name}-{rng.randint(1, 99)}"
        out.append(row)
    return out


def write_rows(rows: list[dict], columns: list[str], path: Path, fmt: str, encoding: str = "utf-8") -> Path:
    """Write rows as csv / jsonl / json / parquet, atomically (.part then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    if fmt == "csv":
        with tmp.open("w", encoding=encoding, newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
            w.writeheader()
            w.writerows(rows)
    elif fmt == "jsonl":
        with tmp.open("w", encoding=encoding) as fh:
            for r in rows:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    elif fmt == "json":
        tmp.write_text(json.dumps(rows, ensure_ascii=False), encoding=encoding)
    elif fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows), tmp)
    else:
        raise ValueError(f"unknown format {fmt}")
    tmp.rename(path)
    return path


def generate(registry: Registry, department: str, *, resources: list[str] | None = None, rows: int = 200,
             seed: int = 0, defect_rate: float = 0.0, defects: list[str] | None = None, out: Path | None = None,
             now: dt.datetime | None = None) -> list[Path]:
    """Write one mock delivery per resource under <out>/<department>/<resource>/ (default: landing zone).

    Known resources get citydata.mock's realistic rows, others generic_rows; with defects,
    the ground truth goes to $CITYDATA_HOME/manifests/ (see citydata.mock.defects).
    """
    from citydata.config import settings

    dept = registry.department(department)
    names = resources or list(dept.resources)
    for name in names:
        registry.resource(department, name)  # fails clearly on an unknown resource
    root = out or settings().landing_dir
    now = now or dt.datetime.now(dt.UTC)
    stamp = now.strftime("%Y%m%dT%H%M%S")
    paths = []
    from citydata.mock.delivery import write_delivery

    manifests = settings().home / "manifests"
    for name in names:
        res = dept.resources[name]
        path = root / department / name / f"{name}_{stamp}_s{seed}.{res.format}"
        written, _ = write_delivery(res, path, rows=rows, seed=seed, now=now, defect_rate=defect_rate,
                                    defects=defects, manifest_dir=manifests)
        paths.append(written)
    return paths
