"""Pull a department's database table incrementally by its update-time column.

Reads rows with updated_at >= watermark − overlap, ordered by (updated_at, primary key),
in bounded batches. The overlap re-reads a short window so a row committed late by a
long-running source transaction (stamped before a row we already saw) is not missed; the
warehouse upsert skips rows that did not change, so re-reads are idempotent and only show
up as duplicates in the audit.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, column, create_engine, make_url, select, table
from sqlalchemy.exc import SQLAlchemyError

from citydata.errors import CitydataError
from citydata.sources.base import Pulled, max_time, rows_to_batch
from citydata.warehouse.db import normalise_url

_ENGINES: dict[str, Engine] = {}


def source_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url not in _ENGINES:
        args = {"timeout": 30} if url.startswith("sqlite") else {"connect_timeout": 10}
        _ENGINES[url] = create_engine(url, connect_args=args, pool_pre_ping=True)
    return _ENGINES[url]


def dispose_source_engines() -> None:
    for eng in _ENGINES.values():
        eng.dispose()
    _ENGINES.clear()


def sqlite_time(t: dt.datetime) -> str:
    """The text form timestamps take in SQLite sources (sortable UTC ISO, as in our warehouse)."""
    return t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00:00")


class SqlSource:
    kind = "sql"

    def __init__(self, url: str, table_name: str, columns: list[str], *, key: list[str],
                 watermark_field: str = "updated_at", overlap_seconds: float = 60.0, batch_rows: int = 10_000,
                 max_rows: int = 1_000_000, label: str = "") -> None:
        self.url, self.table_name, self.columns = url, table_name, columns
        self.key, self.watermark_field = key, watermark_field
        self.overlap = dt.timedelta(seconds=overlap_seconds)
        self.batch_rows, self.max_rows = batch_rows, max_rows
        safe = make_url(normalise_url(url)).set(password=None).render_as_string(hide_password=False)
        self.name = f"{safe}#{table_name}"
        self.label = label or self.name

    def pull(self, since: dt.datetime | None) -> Pulled:
        eng = source_engine(self.url)
        t = table(self.table_name, *[column(c) for c in self.columns])
        wm = t.c[self.watermark_field]
        query = select(*t.c).order_by(wm, *[t.c[k] for k in self.key]).limit(self.max_rows)
        if since is not None:
            start = since - self.overlap
            query = query.where(wm >= (sqlite_time(start) if eng.dialect.name == "sqlite" else start))
        batches, rows, watermark = [], 0, None
        idx = self.columns.index(self.watermark_field)
        try:
            with eng.connect() as conn:
                result = conn.execution_options(stream_results=True).execute(query)
                while chunk := result.fetchmany(self.batch_rows):
                    batches.append(rows_to_batch(chunk, self.columns))
                    rows += len(chunk)
                    watermark = max_time((r[idx] for r in chunk), watermark)
        except SQLAlchemyError as exc:
            first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise CitydataError(f"{self.label}: cannot read {self.table_name} from "
                                f"{eng.url.render_as_string(hide_password=True)}: {first}") from exc
        return Pulled(batches=batches, rows=rows, watermark=watermark, pages=len(batches), attempts=1)
