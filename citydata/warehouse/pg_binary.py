"""Arrow tables as PostgreSQL binary COPY streams, built column-wise in Arrow compute.

Binary COPY spares the server parsing text: a timestamp arrives as its 8-byte count of
microseconds instead of a string the server must take apart (measured on 1M meter readings:
COPY of the binary stream 0.46-0.78 s, of the same rows as CSV 0.94-1.17 s). A field is a
4-byte length and its payload (length -1: NULL). Fixed-width columns without NULLs are packed
side by side in one numpy record per row; text and nullable columns become binary pieces per
row (a length, then the bytes), and one ``take`` puts each row's pieces after its record. No
Python loop runs per row (1M rows encode in ≈ 0.22 s, the CSV they replace in ≈ 0.21 s).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"
NULL = b"\xff\xff\xff\xff"
_PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 UTC in Unix microseconds
_PG_EPOCH_DAYS = 10_957
_JOIN = pa.scalar(b"", pa.large_binary())
PART_ROWS = 25_000  # rows encoded per part of the stream (see encode)

# The server type each Arrow type is sent as (the registry's column types, citydata.warehouse.db).
PG_TYPES = {
    pa.string(): "text",
    pa.large_string(): "text",
    pa.int64(): "bigint",
    pa.float64(): "double precision",
    pa.bool_(): "boolean",
    pa.date32(): "date",
}


def pg_type(arrow_type: pa.DataType) -> str | None:
    """The server type this module encodes ``arrow_type`` as, None when it cannot."""
    if pa.types.is_timestamp(arrow_type):
        return "timestamp with time zone" if arrow_type.tz is not None else "timestamp without time zone"
    return PG_TYPES.get(arrow_type)


def _values(col: pa.Array) -> tuple[np.ndarray, str] | None:
    """A fixed-width column as (values to send, big-endian dtype); None for text."""
    t = col.type
    if pa.types.is_timestamp(t):
        us = pc.cast(col, pa.timestamp("us", tz=t.tz)).cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
        return us - _PG_EPOCH_US, ">i8"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return None
    if t == pa.int64():
        return col.fill_null(0).to_numpy(zero_copy_only=False).astype("int64", copy=False), ">i8"
    if t == pa.float64():
        return col.fill_null(0).to_numpy(zero_copy_only=False).astype("float64", copy=False), ">f8"
    if t == pa.bool_():
        return col.fill_null(False).to_numpy(zero_copy_only=False).astype("uint8"), ">u1"
    if t == pa.date32():
        return col.cast(pa.int32()).fill_null(0).to_numpy(zero_copy_only=False) - _PG_EPOCH_DAYS, ">i4"
    raise TypeError(f"no binary COPY encoding for Arrow type {t}")


def _packed(n: int, count: int | None, columns: list[tuple[np.ndarray, str]]) -> np.ndarray:
    """Length-prefixed fixed-width fields side by side in one record per row (after the row's
    field count when ``count`` is given): one numpy pass instead of one Arrow join per column."""
    layout = [("count", ">i2")] if count is not None else []
    for i, (_, be) in enumerate(columns):
        layout += [(f"l{i}", ">i4"), (f"v{i}", be)]
    rec = np.empty(n, dtype=layout)
    if count is not None:
        rec["count"] = count
    for i, (values, be) in enumerate(columns):
        rec[f"l{i}"] = np.dtype(be).itemsize
        rec[f"v{i}"] = values
    return rec.view(f"S{rec.dtype.itemsize}")


def _binary(fixed: np.ndarray) -> pa.Array:
    return pa.array(fixed, pa.binary(fixed.dtype.itemsize)).cast(pa.large_binary())


def _fields(col: pa.Array, values: tuple[np.ndarray, str] | None) -> list[pa.Array]:
    """One column's fields where some are NULL (or of variable width: text), as pieces per row:
    a text value is its 4-byte length, then its bytes (none for NULL, whose length is -1)."""
    if values is None:
        col = col.cast(pa.large_binary())
        lengths = pc.binary_length(col).fill_null(-1).to_numpy(zero_copy_only=False).astype(">i4")
        return [_binary(lengths.view("S4")), col.fill_null(_JOIN)]
    out = _binary(_packed(len(col), None, [values]))
    return [pc.if_else(col.is_valid(), out, pa.scalar(NULL, pa.large_binary())) if col.null_count else out]


def _row_major(pieces: list[pa.Array]) -> pa.Buffer:
    """The bytes of row 0's pieces, then row 1's, …: one ``take`` of every piece in row order
    (on 1M meter readings 20 % cheaper than ``binary_join_element_wise`` of the same pieces)."""
    n, k = len(pieces[0]), len(pieces)
    index = np.int32 if n * k < 2**31 else np.int64
    order = (np.arange(k, dtype=index) * n)[None, :] + np.arange(n, dtype=index)[:, None]
    rows = pa.concat_arrays(pieces).take(pa.array(order.ravel()))
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int64, count=len(rows) + 1, offset=rows.offset * 8)
    return rows.buffers()[2][int(offsets[0]):int(offsets[-1])]


def _cut(values: tuple[np.ndarray, str] | None, start: int, end: int) -> tuple[np.ndarray, str] | None:
    return None if values is None else (values[0][start:end], values[1])


def encode(table: pa.Table, part_rows: int = PART_ROWS) -> tuple[list[str], Iterator[bytes | memoryview | pa.Buffer]]:
    """The COPY stream for ``table``'s rows: (column order, header, rows in parts, trailer).

    Fixed-width columns without NULLs come first, packed in one pass. The parts are encoded
    as they are asked for, ``part_rows`` rows each, so the server parses one while the next is
    encoded (on 1M meter readings, encoding and sending in 25,000-row parts took 1.05-1.37 s,
    in 100,000-row ones 1.55-1.84 s). Offsets are 64-bit: a part of large values does not overflow.
    """
    n = table.num_rows
    cols = {name: table.column(name).combine_chunks() for name in table.column_names}
    values = {name: _values(col) for name, col in cols.items()}  # an unknown type fails here, not mid-COPY
    packed = [name for name, col in cols.items() if values[name] is not None and not col.null_count]
    rest = [name for name in cols if name not in packed]

    def parts() -> Iterator[bytes | memoryview | pa.Buffer]:
        yield HEADER
        for start in range(0, n, part_rows):
            end = min(start + part_rows, n)
            head = _packed(end - start, len(cols), [_cut(values[name], start, end) for name in packed])
            if not rest:
                yield memoryview(head)
                continue
            yield _row_major([_binary(head)] + [piece for name in rest for piece in
                                                _fields(cols[name].slice(start, end - start), _cut(values[name], start, end))])
        yield TRAILER

    return packed + rest, parts()
