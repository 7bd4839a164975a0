"""One delivery (file or pull) → one transaction: staging, quarantine, upsert and audit row.

PostgreSQL stages with COPY (psycopg 3) from Arrow-written CSV; SQLite with executemany.
Either way the rows reach core through one set-based upsert, and the audit row that
records the accounting and t_landed commits in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, text

from citydata.registry import Resource
from citydata.warehouse.db import TYPES, qualify, sql_file


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def ts_param(value: dt.datetime, dialect: str) -> dt.datetime | str:
    """Timestamps bind as datetimes on PostgreSQL and as sortable UTC ISO text on SQLite."""
    value = value.astimezone(dt.UTC)
    return value if dialect == "postgresql" else value.strftime("%Y-%m-%d %H:%M:%S.%f+00:00")


@dataclass
class LoadResult:
    batch_id: int
    rows_staged: int
    rows_loaded: int
    t_landed: dt.datetime


class BatchLoad:
    """Accumulates one delivery inside an open transaction, then upserts it into core."""

    def __init__(self, conn: Connection, resource: Resource, source_kind: str, source: str,
                 checksum: str | None = None, run_id: str | None = None) -> None:
        self.conn, self.resource, self.source = conn, resource, source
        self.dialect = conn.dialect.name
        self.staged = 0
        self.staging = f"stg_{resource.table}"
        self.columns = [f.name for f in resource.fields]
        self.batch_id = conn.execute(
            text(sql_file("audit/open_batch.sql", self.dialect)),
            {"department": resource.department, "resource": resource.name, "source_kind": source_kind,
             "source": source, "checksum": checksum, "run_id": run_id,
             "started_at": ts_param(utcnow(), self.dialect)},
        ).scalar_one()
        types = TYPES[self.dialect]
        cols = ",\n    ".join(f"{f.name} {types[f.type]}" for f in resource.fields)
        conn.execute(text(f"DROP TABLE IF EXISTS {self.staging}"))
        conn.execute(text(sql_file("load/staging.sql", self.dialect, staging=self.staging, columns=cols)))

    def stage(self, table: pa.Table, rows: pa.Array) -> None:
        """Add typed rows; ``rows`` holds their positions in the source (last one wins)."""
        if table.num_rows == 0:
            return
        table = table.append_column("_row", rows)
        if self.dialect == "postgresql":
            self._copy(table)
        else:
            self._insert(table)
        self.staged += table.num_rows

    def _copy(self, table: pa.Table) -> None:
        import pyarrow.csv as pacsv

        buf = io.BytesIO()
        pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False))
        cols = ", ".join(table.column_names)
        raw = self.conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY {self.staging} ({cols}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(buf.getbuffer())

    def _insert(self, table: pa.Table) -> None:
        arrays = []
        for name in table.column_names:
            col = table.column(name)
            if pa.types.is_timestamp(col.type):
                col = pc.strftime(col, format="%Y-%m-%d %H:%M:%S+00:00")
            elif pa.types.is_date(col.type):
                col = pc.strftime(col, format="%Y-%m-%d")
            arrays.append(col.to_pylist())
        cols = ", ".join(table.column_names)
        marks = ", ".join("?" * len(table.column_names))
        raw = self.conn.connection.driver_connection
        raw.executemany(f"INSERT INTO {self.staging} ({cols}) VALUES ({marks})", list(zip(*arrays, strict=True)))

    def quarantine(self, rows: list[dict]) -> None:
        """rows: {row_number, record (raw values), errors (list of dicts)}."""
        if not rows:
            return
        now = ts_param(utcnow(), self.dialect)
        self.conn.execute(
            text(sql_file("audit/insert_quarantine.sql", self.dialect)),
            [
                {"batch_id": self.batch_id, "department": self.resource.department, "resource": self.resource.name,
                 "source": self.source, "row_number": r["row_number"],
                 "record": json.dumps(r["record"], ensure_ascii=False, default=str),
                 "errors": json.dumps(r["errors"], ensure_ascii=False, default=str), "created_at": now}
                for r in rows
            ],
        )

    def upsert(self) -> int:
        """Move staged rows into core; returns rows inserted or changed."""
        if not self.staged:
            return 0
        r = self.resource
        non_key = [c for c in self.columns if c not in r.primary_key] or list(r.primary_key)
        sql = sql_file(
            "load/upsert.sql",
            self.dialect,
            target=qualify("core", r.table, self.dialect),
            staging=self.staging,
            columns=", ".join(self.columns),
            primary_key=", ".join(r.primary_key),
            batch_id=str(int(self.batch_id)),
            set_columns=", ".join(f"{c} = excluded.{c}" for c in non_key),
            current_columns=", ".join(f"cur.{c}" for c in non_key),
            excluded_columns=", ".join(f"excluded.{c}" for c in non_key),
        )
        return self.conn.execute(text(sql)).rowcount

    def close(self, *, status: str, rows_read: int, rows_loaded: int, rows_quarantined: int,
              rows_duplicate: int, reason: str | None) -> dt.datetime:
        """Write the audit row last, stamping t_landed as close to COMMIT as we can."""
        t_landed = utcnow()
        self.conn.execute(
            text(sql_file("audit/close_batch.sql", self.dialect)),
            {"batch_id": self.batch_id, "status": status, "rows_read": rows_read, "rows_loaded": rows_loaded,
             "rows_quarantined": rows_quarantined, "rows_duplicate": rows_duplicate, "reason": reason,
             "t_landed": ts_param(t_landed, self.dialect)},
        )
        self.conn.execute(text(f"DROP TABLE IF EXISTS {self.staging}"))
        return t_landed
