"""Read landed files into bounded Arrow record batches of text columns.

Every column is read as text (or as the file's own type for Parquet/JSON) and coerced
to the registry's types later, so one bad value costs one row, not the whole file.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from citydata.errors import FileRejected

BLOCK_SIZE = 8 << 20  # bytes per CSV block; bounds memory per batch
JSON_BATCH_ROWS = 50_000
NULL_VALUES = ["", "NULL", "null"]
SUPPORTED = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".parquet": "parquet"}


@dataclass
class FileBatches:
    """Column names of the file and an iterator of its batches (rows in file order)."""

    columns: list[str]
    encoding: str
    batches: Iterator[pa.RecordBatch]


def file_kind(path: Path) -> str:
    kind = SUPPORTED.get(path.suffix.lower())
    if not kind:
        raise FileRejected("unsupported file type", f"{path.suffix or '(none)'}; use csv, jsonl, json or parquet")
    return kind


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) or GB18030 (a superset of GBK); anything else is rejected."""
    with path.open("rb") as fh:
        head = fh.read(4)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise FileRejected("unsupported encoding", "UTF-16 (byte-order mark found); deliver UTF-8 or GBK")
        fh.seek(0)
        bom = head.startswith(codecs.BOM_UTF8)
        for encoding in ("utf-8", "gb18030"):
            fh.seek(0)
            decoder = codecs.getincrementaldecoder(encoding)()
            offset = 0
            try:
                while chunk := fh.read(1 << 20):
                    if b"\x00" in chunk:
                        at = offset + chunk.index(b"\x00")
                        raise FileRejected("binary content", f"NUL byte at offset {at}; not a text file")
                    decoder.decode(chunk)
                    offset += len(chunk)
                decoder.decode(b"", final=True)
                return "utf-8-sig" if bom else encoding
            except UnicodeDecodeError as exc:
                bad_at = offset + exc.start
                continue
    raise FileRejected("invalid encoding", f"bytes at offset {bad_at} are neither UTF-8 nor GBK/GB18030")


def _normalise_columns(names: list[str]) -> list[str]:
    cols = [n.strip().lstrip("\ufeff").strip().lower() for n in names]
    seen: set[str] = set()
    for c in cols:
        if c in seen:
            raise FileRejected("duplicated column", f"column {c!r} appears more than once in the header")
        seen.add(c)
    if any(not c for c in cols):
        raise FileRejected("empty column name", f"header {names!r} has an empty column name")
    return cols


def _read_csv(path: Path) -> FileBatches:
    import pyarrow.csv as pacsv

    encoding = detect_encoding(path)
    with path.open("r", encoding=encoding, newline="") as fh:
        import csv as pycsv

        try:
            header = next(pycsv.reader(fh))
        except StopIteration:
            raise FileRejected("empty file", "no header row") from None
        except pycsv.Error as exc:
            raise FileRejected("unreadable header", str(exc)) from None
    columns = _normalise_columns(header)
    read_opts = pacsv.ReadOptions(
        column_names=columns, skip_rows=1, block_size=BLOCK_SIZE, encoding="utf8" if encoding == "utf-8" else encoding
    )
    parse_opts = pacsv.ParseOptions(newlines_in_values=True)
    convert = pacsv.ConvertOptions(
        column_types={c: pa.string() for c in columns},
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
        null_values=NULL_VALUES,
    )
    try:
        reader = pacsv.open_csv(path, read_options=read_opts, parse_options=parse_opts, convert_options=convert)
    except pa.ArrowInvalid as exc:
        raise FileRejected("unparseable CSV", _arrow_msg(exc)) from None

    def batches() -> Iterator[pa.RecordBatch]:
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
                raise FileRejected("unparseable CSV", _arrow_msg(exc)) from None
            if batch.num_rows:
                yield batch

    return FileBatches(columns, encoding, batches())


def _arrow_msg(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:300]


def _as_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


def _records_to_batches(records: Iterator[tuple[int, object]], where: str) -> FileBatches:
    """Turn JSON objects into text batches; the first object fixes nothing: columns are the union."""
    rows: list[dict] = []
    columns: list[str] = []
    seen: set[str] = set()
    for lineno, obj in records:
        if not isinstance(obj, dict):
            raise FileRejected("not a JSON object", f"{where} {lineno}: expected an object, got {type(obj).__name__}")
        row = {}
        for k, v in obj.items():
            key = str(k).strip().lower()
            if key not in seen:
                seen.add(key)
                columns.append(key)
            row[key] = _as_text(v)
        rows.append(row)

    def batches() -> Iterator[pa.RecordBatch]:
        for start in range(0, len(rows), JSON_BATCH_ROWS):
            chunk = rows[start : start + JSON_BATCH_ROWS]
            arrays = [pa.array([r.get(c) for r in chunk], pa.string()) for c in columns]
            yield pa.RecordBatch.from_arrays(arrays, names=columns)

    return FileBatches(columns, "utf-8", batches())


def _read_jsonl(path: Path) -> FileBatches:
    encoding = detect_encoding(path)

    def records() -> Iterator[tuple[int, object]]:
        with path.open("r", encoding=encoding) as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    yield lineno, json.loads(line)
                except json.JSONDecodeError as exc:
                    raise FileRejected("invalid JSON", f"line {lineno}: {exc.msg}") from None

    return _records_to_batches(records(), "line")


def _read_json(path: Path) -> FileBatches:
    encoding = detect_encoding(path)
    try:
        doc = json.loads(path.read_text(encoding=encoding))
    except json.JSONDecodeError as exc:
        raise FileRejected("invalid JSON", f"line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    if isinstance(doc, dict):
        for key in ("data", "records", "items", "results"):
            if isinstance(doc.get(key), list):
                doc = doc[key]
                break
    if not isinstance(doc, list):
        raise FileRejected("invalid JSON layout", "expected an array of objects (or {\"data\": [...]})")
    return _records_to_batches(enumerate(doc, 1), "element")


def _read_parquet(path: Path) -> FileBatches:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise FileRejected("unreadable Parquet", _arrow_msg(exc)) from None
    columns = _normalise_columns(pf.schema_arrow.names)

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            for batch in pf.iter_batches(batch_size=65_536):
                yield batch.rename_columns(columns)
        except (pa.ArrowInvalid, OSError) as exc:
            raise FileRejected("unreadable Parquet", _arrow_msg(exc)) from None

    return FileBatches(columns, "binary", batches())


READERS = {"csv": _read_csv, "jsonl": _read_jsonl, "json": _read_json, "parquet": _read_parquet}


def read_file(path: Path) -> FileBatches:
    """Open a landed file; FileRejected names what is wrong with it."""
    return READERS[file_kind(path)](path)
