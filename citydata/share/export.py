"""File-based exchange: each publication also written as Parquet, partitioned by resource and date.

Layout under ``$CITYDATA_HOME/share/parquet/``:
- 无条件共享: ``<dept>__<resource>/date=YYYY-MM-DD/batch-<id>.parquet``
- 有条件共享: ``<dept>__<resource>/consumer=<consumer>/date=YYYY-MM-DD/batch-<id>.parquet``
  (one copy per consumer, so the exchange can grant each consumer its own folder)
The date is the Asia/Shanghai calendar date of the row's event time. Files are append-only
per batch: a later batch's version of a key supersedes an earlier one (``_batch_id`` column).
Rewriting the same batch replaces its files (idempotent). Values are already masked.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

from citydata.config import Settings
from citydata.domain.time import LOCAL_TZ
from citydata.registry import Resource


def _arrow_type(kind: str):  # noqa: ANN202
    import pyarrow as pa

    return {
        "string": pa.string(), "integer": pa.int64(), "float": pa.float64(), "boolean": pa.bool_(),
        "timestamp": pa.timestamp("us", tz="UTC"), "date": pa.date32(),
    }[kind]


def _value(kind: str, v: object) -> object:
    """Core values as Python objects: SQLite returns timestamps and dates as text."""
    if v is None:
        return None
    if kind == "timestamp":
        return v if isinstance(v, dt.datetime) else dt.datetime.fromisoformat(str(v))
    if kind == "date":
        return v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v))
    if kind == "boolean":
        return bool(v)
    return v


def write_parquet(resource: Resource, batch_id: int, rows: list[dict], cfg: Settings) -> list[Path]:
    """Write one publication's (masked) rows; returns the files written."""
    if not rows or not resource.shared:
        return []
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(f.name, _arrow_type(f.type)) for f in resource.fields] + [("_batch_id", pa.int64())])
    by_date: dict[str, list[dict]] = defaultdict(list)
    kinds = {f.name: f.type for f in resource.fields}
    for r in rows:
        typed = {k: _value(kinds[k], r[k]) for k in kinds}
        typed["_batch_id"] = int(r["_batch_id"])
        day = typed[resource.event_time].astimezone(LOCAL_TZ).date().isoformat()
        by_date[day].append(typed)
    base = cfg.home / "share" / "parquet" / resource.table
    folders = [base] if resource.sharing_type == "无条件共享" else [base / f"consumer={c}" for c in resource.consumers]
    written = []
    for folder in folders:
        for day, part in sorted(by_date.items()):
            out = folder / f"date={day}" / f"batch-{batch_id}.parquet"
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_name(out.name + ".part")
            pq.write_table(pa.Table.from_pylist(part, schema=schema), tmp)
            tmp.replace(out)
            written.append(out)
    return written
