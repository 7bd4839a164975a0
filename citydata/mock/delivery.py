"""Write one mock delivery file (with any requested defects) and its ground-truth manifest.

Departments with a realistic generator (citydata.mock.generators) use it; any other resource,
such as one added by configuration alone, gets valid rows derived from its registry fields
(generic_rows).

The manifest goes to $CITYDATA_HOME/manifests/<department>/<resource>/<file>.manifest.json,
outside the landing zone so ingestion never sees it.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
from pathlib import Path

from citydata.mock import defects as dfx
from citydata.mock import generators
from citydata.registry import Resource


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


def clean_rows(resource: Resource, rows: int, seed: int, now: dt.datetime) -> list[dict]:
    """Realistic rows for resources the mock knows; generic valid rows for any other."""
    if generators.known(resource.key):
        return generators.rows_for(resource.key, rows, seed, now)
    return generic_rows(resource, rows, seed, now)


def manifest_path(manifest_dir: Path, resource: Resource, file_name: str) -> Path:
    return manifest_dir / resource.department / resource.name / f"{file_name}.manifest.json"


def write_delivery(resource: Resource, path: Path, *, rows: int, seed: int, now: dt.datetime,
                   defect_rate: float = 0.0, defects: list[str] | None = None,
                   manifest_dir: Path | None = None) -> tuple[Path, Path | None]:
    """Write `path` (format from the registry) and, when manifest_dir is given, its manifest."""
    kinds = dfx.parse_kinds(defects)
    rate = defect_rate
    if not rate and defects and any(k in dfx.ROW_KINDS for k in kinds):
        rate = dfx.DEFAULT_RATE
    if not defects and not rate:
        kinds = []
    data = clean_rows(resource, rows, seed, now)
    bad = dfx.corrupt(resource, data, rate=rate, kinds=kinds, seed=seed, now=now, fmt=resource.format)
    rendered = generators.render(bad.rows, resource.format)
    # Written under a dot-name (ignored by the landing zone) and renamed when complete.
    hidden = path.with_name(f".{path.name}.mock")
    try:
        write_rows(rendered, bad.columns, hidden, resource.format, encoding=bad.encoding)
    except UnicodeEncodeError:  # a character outside GBK: GB18030 is the superset departments use
        bad.encoding = "gb18030"
        write_rows(rendered, bad.columns, hidden, resource.format, encoding=bad.encoding)
    for d in bad.file_defects:
        if d["kind"] == "gbk_encoding":
            d["encoding"] = bad.encoding
        if d["kind"] == "truncated":
            d.update(dfx.truncate_file(hidden, random.Random(f"{seed}:truncate:{path.name}"), resource.format))
    hidden.replace(path)
    if manifest_dir is None:
        return path, None
    manifest = {
        "file": path.name,
        "department": resource.department,
        "resource": resource.name,
        "format": resource.format,
        "encoding": bad.encoding,
        "rows": len(bad.rows),
        "seed": seed,
        "generated_at": now.astimezone(dt.UTC).isoformat(),
        "defect_rate": rate,
        "defects_requested": kinds,
        "not_applicable": bad.not_applicable,
        "file_defects": bad.file_defects,
        "row_defects": bad.row_defects,
    }
    mpath = manifest_path(manifest_dir, resource, path.name)
    mpath.parent.mkdir(parents=True, exist_ok=True)
    tmp = mpath.with_name(mpath.name + ".part")
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(mpath)
    return path, mpath
