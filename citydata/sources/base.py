"""The connector interface: a Source yields Arrow record batches plus the high-water mark it reached.

Batches carry the source's own values (text, or typed columns where the source is typed);
citydata.ingest.coerce turns them into the registry's types, exactly as for landed files.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import pyarrow as pa

from citydata.domain.time import LOCAL_TZ
from citydata.ingest.readers import as_text


@dataclass
class Pulled:
    """What one pull fetched: batches in source order and the largest update time seen."""

    batches: Iterable[pa.RecordBatch]
    rows: int = 0
    watermark: dt.datetime | None = None
    pages: int = 0
    attempts: int = 0
    notes: list[str] = field(default_factory=list)


class Source(Protocol):
    kind: str  # "file" | "http" | "sql" (audit.ingest_log.source_kind)
    name: str  # stable identity: the audit source and the watermark key

    def pull(self, since: dt.datetime | None) -> Pulled:
        """Everything changed at or after `since` (everything when None)."""
        ...


def parse_time(value: object) -> dt.datetime | None:
    """A source timestamp as aware UTC (naive values are county local time, as in coerce)."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        t = value
    else:
        try:
            t = dt.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=LOCAL_TZ)
    return t.astimezone(dt.UTC)


def max_time(values: Iterable[object], current: dt.datetime | None = None) -> dt.datetime | None:
    for v in values:
        t = parse_time(v)
        if t is not None and (current is None or t > current):
            current = t
    return current


def records_to_batch(records: Sequence[dict], columns: Sequence[str]) -> pa.RecordBatch:
    """JSON-like records → a batch of text columns (keys lower-cased, unknown keys kept)."""
    names = list(columns)
    seen = set(names)
    rows = []
    for r in records:
        row = {str(k).strip().lower(): v for k, v in r.items()}
        for k in row:
            if k not in seen:
                seen.add(k)
                names.append(k)
        rows.append(row)
    arrays = [pa.array([as_text(r.get(c)) for r in rows], pa.string()) for c in names]
    return pa.RecordBatch.from_arrays(arrays, names=names)


def rows_to_batch(rows: Sequence[Sequence[object]], columns: Sequence[str]) -> pa.RecordBatch:
    """Database rows → a batch, typed where Arrow infers one cleanly, text otherwise."""
    arrays = []
    for i, _ in enumerate(columns):
        values = [r[i] for r in rows]
        try:
            arr = pa.array(values)
            if pa.types.is_null(arr.type):
                arr = pa.array(values, pa.string())
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arr = pa.array([as_text(v) for v in values], pa.string())
        arrays.append(arr)
    return pa.RecordBatch.from_arrays(arrays, names=list(columns))
