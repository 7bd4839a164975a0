"""Masked rows of the sharing layer, paged by an opaque cursor, streamed with bounded memory.

Order: publication by publication (audit.publish_log.publish_id, which grows with commit
order per resource), inside one in primary-key order. A share row carries the batch of the
publication that last wrote it, so a row changed by a later load leaves its old publication and
appears in the new one: a reader sees it again, once, with its new version; an unchanged row is
never repeated and no row is skipped, whatever loads happen between pages. The cursor holds
(publish_id, last key) or (publish_id, done) — opaque to consumers (base64url JSON).

A page is planned first (index-only counts, in one snapshot with the streaming), so the next
cursor and the row count are known before the first byte (X-Next-Cursor, X-Row-Count) for
every format. Rows stream as Arrow record batches: from COPY … TO STDOUT on PostgreSQL, from a
cursor on SQLite, then out as JSON, CSV or Parquet. The sharing layer is already masked.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, text

from citydata.exchange.common import Refused, value_text
from citydata.registry import Resource
from citydata.share.tables import share_table
from citydata.warehouse.db import ident, idents, sql_file

DEFAULT_LIMIT = 1000
MAX_LIMIT = 1_000_000
BATCH_ROWS = 65_536
FORMATS = {"json": "application/json", "csv": "text/csv; charset=utf-8",
           "parquet": "application/vnd.apache.parquet"}
META = ("_t_published",)


class BadCursor(Refused):
    """A cursor that is not one of ours (or belongs to another resource)."""


@dataclass(frozen=True)
class Cursor:
    seq: int = 0
    key: tuple | None = None  # None: every row of publication `seq` has been read

    def encode(self, code: str) -> str:
        body = {"r": code, "s": self.seq}
        if self.key is not None:
            body["k"] = [_tag(v) for v in self.key]
        raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @staticmethod
    def decode(token: str | None, code: str) -> Cursor:
        if not token:
            return Cursor()
        try:
            body = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            if body["r"] != code:
                raise BadCursor(f"cursor belongs to resource {body['r']}, not {code}")
            key = tuple(_untag(v) for v in body["k"]) if "k" in body else None
            return Cursor(int(body["s"]), key)
        except BadCursor:
            raise
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise BadCursor("bad cursor: pass back the `next` value of an earlier page") from None


def _tag(v: object) -> object:
    if isinstance(v, dt.datetime):
        return {"t": v.isoformat()}
    if isinstance(v, dt.date):
        return {"d": v.isoformat()}
    return v


def _untag(v: object) -> object:
    if isinstance(v, dict):
        if "t" in v:
            return dt.datetime.fromisoformat(v["t"])
        return dt.date.fromisoformat(v["d"])
    return v


@dataclass
class Range:
    batch_id: int
    seq: int
    after: tuple | None
    until: tuple | None  # None: to the end of the publication
    rows: int


@dataclass
class Page:
    resource: Resource
    after: Cursor
    ranges: list[Range] = field(default_factory=list)
    next: Cursor = Cursor()
    full: bool = False  # the page reached its limit: more rows may follow

    @property
    def count(self) -> int:
        return sum(r.rows for r in self.ranges)


def _cond(resource: Resource, op: str, prefix: str, style: str = "sqlalchemy") -> str:
    cols = idents(("_batch_id", *resource.primary_key))
    names = ["batch_id", *[f"{prefix}{i}" for i in range(len(resource.primary_key))]]
    binds = ", ".join(f":{n}" if style == "sqlalchemy" else f"%({n})s" for n in names)
    return f"AND ({cols}) {op} ({binds})"


def _keybinds(key: tuple | None, prefix: str) -> dict:
    return {} if key is None else {f"{prefix}{i}": v for i, v in enumerate(key)}


def plan(conn: Connection, resource: Resource, after: Cursor, limit: int) -> Page:
    """Which rows the next page holds (at most `limit`), and the cursor after them."""
    d = conn.dialect.name
    table = share_table(resource, d)
    pk = idents(resource.primary_key)
    page = Page(resource, after, next=after)
    start = after.seq - 1 if after.key is not None else after.seq
    pubs = conn.execute(text(sql_file("exchange/publications.sql", d)),
                        {"department": resource.department, "resource": resource.name, "after_seq": start}).all()
    remaining = limit
    for seq, batch_id in pubs:
        if remaining <= 0:
            break
        key = after.key if (seq == after.seq and after.key is not None) else None
        cond = _cond(resource, ">", "a") if key is not None else ""
        binds = {"batch_id": batch_id, **_keybinds(key, "a")}
        end = conn.execute(text(sql_file("exchange/page_end.sql", d, table=table, primary_key=pk, after=cond)),
                           {**binds, "offset": remaining - 1}).first()
        if end is not None:
            page.ranges.append(Range(batch_id, seq, key, tuple(end), remaining))
            page.next = Cursor(seq, tuple(end))
            page.full = True
            return page
        n = conn.execute(text(sql_file("exchange/page_count.sql", d, table=table, after=cond)), binds).scalar_one()
        if n:
            page.ranges.append(Range(batch_id, seq, key, None, int(n)))
            remaining -= int(n)
        page.next = Cursor(seq, None)  # this publication is read to its end
    return page


# ---- Arrow --------------------------------------------------------------------------------------

ARROW = {"string": pa.string(), "integer": pa.int64(), "float": pa.float64(), "boolean": pa.bool_(),
         "timestamp": pa.timestamp("us", tz="UTC"), "date": pa.date32()}


def out_fields(resource: Resource, allowed: set[str] | None) -> list[str]:
    return [f.name for f in resource.fields if allowed is None or f.name in allowed]


def arrow_schema(resource: Resource, columns: list[str]) -> pa.Schema:
    kinds = {f.name: f.type for f in resource.fields}
    return pa.schema([(c, ARROW[kinds[c]]) for c in columns] + [("_t_published", ARROW["timestamp"]),
                                                                ("_disputed", pa.bool_())])


def _to_array(values: list, kind: str) -> pa.Array:
    if kind == "timestamp":
        if values and any(isinstance(v, str) for v in values):  # SQLite text
            return pc.cast(pa.array(values, pa.string()), ARROW["timestamp"])
        return pa.array([None if v is None else v.astimezone(dt.UTC) for v in values], ARROW["timestamp"])
    if kind == "date":
        return pa.array([dt.date.fromisoformat(v) if isinstance(v, str) else v for v in values], pa.date32())
    if kind == "boolean":
        return pa.array([None if v is None else bool(v) for v in values], pa.bool_())
    return pa.array(values, ARROW[kind])


def _generic_batches(conn: Connection, resource: Resource, columns: list[str], r: Range) -> Iterator[pa.RecordBatch]:
    d = conn.dialect.name
    kinds = {f.name: f.type for f in resource.fields}
    select = ", ".join([idents(columns), *META]) if columns else ", ".join(META)
    q = sql_file("exchange/range_rows.sql", d, select=select, table=share_table(resource, d),
                 primary_key=idents(resource.primary_key),
                 after=_cond(resource, ">", "a") if r.after is not None else "",
                 until=_cond(resource, "<=", "e") if r.until is not None else "")
    result = conn.execution_options(stream_results=True, yield_per=BATCH_ROWS).execute(
        text(q), {"batch_id": r.batch_id, **_keybinds(r.after, "a"), **_keybinds(r.until, "e")})
    names = [*columns, *META]
    types = [kinds[c] for c in columns] + ["timestamp"]
    while chunk := result.fetchmany(BATCH_ROWS):
        cols = list(zip(*chunk, strict=True))
        yield pa.RecordBatch.from_arrays([_to_array(list(v), k) for v, k in zip(cols, types, strict=True)], names)


BLOCK_BYTES = 4 << 20


def _copy_blocks(copy) -> Iterator[bytes]:  # noqa: ANN001
    """COPY TO STDOUT output in blocks of whole rows (psycopg yields one message per row).

    Each message is copied into the block at once: holding psycopg's memoryviews is slow.
    """
    buf = bytearray()
    for chunk in copy:
        buf += chunk
        if len(buf) >= BLOCK_BYTES:
            yield bytes(buf)
            buf.clear()
    if buf:
        yield bytes(buf)


def _copy_batches(conn: Connection, resource: Resource, columns: list[str], r: Range) -> Iterator[pa.RecordBatch]:
    import pyarrow.csv as pacsv

    kinds = {f.name: f.type for f in resource.fields}
    types = {**{c: kinds[c] for c in columns}, "_t_published": "timestamp"}

    def expr(c: str) -> str:
        return f"(EXTRACT(EPOCH FROM {ident(c)}) * 1000000)::BIGINT" if types[c] == "timestamp" else ident(c)

    q = sql_file("exchange/range_copy_postgresql.sql", "postgresql",
                 select=", ".join(expr(c) for c in types), table=share_table(resource, "postgresql"),
                 primary_key=idents(resource.primary_key),
                 after=_cond(resource, ">", "a", "pyformat") if r.after is not None else "",
                 until=_cond(resource, "<=", "e", "pyformat") if r.until is not None else "")
    q = "\n".join(line for line in q.splitlines() if not line.startswith("--"))
    raw = conn.connection.driver_connection
    read_types = {c: (pa.int64() if k == "timestamp" else ARROW[k]) for c, k in types.items()}
    with raw.cursor() as cur, cur.copy(q, {"batch_id": r.batch_id, **_keybinds(r.after, "a"),
                                           **_keybinds(r.until, "e")}) as copy:
        read = pacsv.ReadOptions(column_names=list(types))
        convert = pacsv.ConvertOptions(column_types=read_types, strings_can_be_null=True,
                                       quoted_strings_can_be_null=False, true_values=["t"], false_values=["f"])
        for block in _copy_blocks(copy):
            table = pacsv.read_csv(pa.BufferReader(block), read_options=read, convert_options=convert)
            for batch in table.to_batches(BATCH_ROWS):
                arrays = [pc.cast(batch.column(i), ARROW["timestamp"]) if types[c] == "timestamp"
                          else batch.column(i) for i, c in enumerate(types)]
                yield pa.RecordBatch.from_arrays(arrays, list(types))


def batches(conn: Connection, page: Page, columns: list[str], disputed: set[str]) -> Iterator[pa.RecordBatch]:
    """The page's rows as record batches of the output schema (fields, _t_published, _disputed)."""
    resource = page.resource
    source = _copy_batches if conn.dialect.name == "postgresql" else _generic_batches
    schema = arrow_schema(resource, columns)
    kinds = [resource.field(k).type for k in resource.primary_key]
    for r in page.ranges:
        for b in source(conn, resource, columns, r):
            if disputed and all(k in columns for k in resource.primary_key):
                keys = zip(*[b.column(k).to_pylist() for k in resource.primary_key], strict=True)
                flags = pa.array([json.dumps([value_text(kd, v) for kd, v in zip(kinds, key, strict=True)],
                                             ensure_ascii=False) in disputed for key in keys], pa.bool_())
            else:
                flags = pa.array([False] * b.num_rows, pa.bool_())
            yield pa.RecordBatch.from_arrays([*b.columns, flags], schema=schema)


# ---- output formats -----------------------------------------------------------------------------

def _json_default(v: object) -> object:
    if isinstance(v, dt.datetime):
        return v.astimezone(dt.UTC).isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    raise TypeError(type(v).__name__)


def _utc_text(col: pa.Array) -> pa.Array:
    """'YYYY-MM-DD HH:MM:SS.ffffffZ' (formatting naive UTC values is ~30× faster than tz-aware ones)."""
    naive = pc.cast(col, pa.timestamp("us"))
    return pc.binary_join_element_wise(pc.cast(naive, pa.string()), pa.scalar("Z"), "")


def _csv_ready(b: pa.RecordBatch) -> pa.RecordBatch:
    """Timestamps as UTC text with a Z (Arrow formats tz-aware values slowly, one by one)."""
    cols = [_utc_text(c) if pa.types.is_timestamp(c.type) else c for c in b.columns]
    return pa.RecordBatch.from_arrays(cols, b.schema.names)


class _Sink(io.RawIOBase):
    """Collects what a writer wrote since the last drain (Parquet is written into it, row group by group)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:  # noqa: ANN001
        self.parts.append(bytes(b))
        return len(b)

    def drain(self) -> bytes:
        out, self.parts = b"".join(self.parts), []
        return out


def render(fmt: str, code: str, page: Page, columns: list[str], source: Iterator[pa.RecordBatch],
           counter: list[int]) -> Iterator[bytes]:
    """Bytes of one page in a format; counter[0] counts the rows sent (for the access log)."""
    nxt = page.next.encode(code)
    if fmt == "json":
        yield json.dumps({"resource": code}, ensure_ascii=False)[:-1].encode() + b', "rows": ['
        first = True
        for b in source:
            parts = [json.dumps(row, ensure_ascii=False, default=_json_default) for row in b.to_pylist()]
            if parts:
                yield (b"" if first else b",") + ",".join(parts).encode()
                first = False
            counter[0] += b.num_rows
        tail = json.dumps({"count": counter[0], "next": nxt, "has_more": page.full})
        yield b"], " + tail[1:].encode()
    elif fmt == "csv":
        import pyarrow.csv as pacsv

        header = True
        for b in source:
            buf = io.BytesIO()
            pacsv.write_csv(_csv_ready(b), buf, pacsv.WriteOptions(include_header=header))
            header = False
            counter[0] += b.num_rows
            yield buf.getvalue()
        if header:  # no rows: still a header line
            buf = io.BytesIO()
            pacsv.write_csv(pa.Table.from_batches([], _csv_schema(arrow_schema(page.resource, columns))), buf)
            yield buf.getvalue()
    else:
        import pyarrow.parquet as pq

        sink = _Sink()
        schema = arrow_schema(page.resource, columns)
        writer = pq.ParquetWriter(sink, schema.with_metadata({"citydata.next": nxt, "citydata.resource": code}),
                                  compression="snappy")
        for b in source:
            writer.write_batch(b)
            counter[0] += b.num_rows
            if chunk := sink.drain():
                yield chunk
        writer.close()
        yield sink.drain()


def _csv_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema([(f.name, pa.string() if pa.types.is_timestamp(f.type) else f.type) for f in schema])


def warm() -> None:
    """Import what serving needs now (pyarrow pulls in pandas on first use: seconds), not on a first request."""
    import pyarrow.csv  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    pa.array([0])


def parse_format(fmt: str | None) -> str:
    fmt = (fmt or "json").lower()
    if fmt not in FORMATS:
        raise Refused(f"unknown format {fmt!r}: json, csv or parquet")
    return fmt


def parse_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise Refused(f"limit must be between 1 and {MAX_LIMIT}")
    return limit

