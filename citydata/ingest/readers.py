"""Read landed files into bounded Arrow record batches of text columns.

Every column is read as text (or as the file's own type for Parquet/JSON) and coerced
to the registry's types later, so one bad value costs one row, not the whole file.
"""

from __future__ import annotations

import codecs
import datetime as dt
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from citydata.domain.masking import safe_token
from citydata.errors import FileRejected

# Bytes per CSV block. Arrow's streaming reader reads up to 32 blocks ahead in the background,
# so this bounds memory: 8 MiB blocks held ≈ 250 MiB of a large file (peak RSS grew with the
# file's size), 2 MiB blocks ≈ 64 MiB, and parse as fast (the checks merge them anyway). A row
# must fit in a block: a longer one rejects the file as unparseable (values are limited to
# MAX_TEXT_BYTES = 1 MiB anyway).
BLOCK_SIZE = 2 << 20
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


# Binary formats often mis-named .csv/.json: named, so the department knows what it sent.
MAGIC = [
    (b"PK\x03\x04", "a ZIP archive (e.g. an Excel .xlsx workbook)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel 97-2003 (.xls) or other OLE2 document"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"BZh", "a bzip2-compressed file"),
    (b"\xfd7zXZ\x00", "an xz-compressed file"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"%PDF-", "a PDF document"),
    (b"PAR1", "a Parquet file (name it .parquet)"),
]


def _sniff_binary(head: bytes) -> None:
    for magic, what in MAGIC:
        if head.startswith(magic):
            raise FileRejected("not a text file", f"the content is {what}; deliver CSV, JSON Lines, JSON or Parquet")


def _mixed_encoding(path: Path) -> str | None:
    """Name a UTF-8 line and a non-UTF-8 line if the file mixes the two (never valid as a whole)."""
    utf8_line = other_line = None
    with path.open("rb") as fh:
        for lineno, line in enumerate(fh, 1):
            if line.isascii():
                continue
            try:
                text = line.decode("utf-8")
                if utf8_line is None and sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff") >= 2:
                    utf8_line = lineno
            except UnicodeDecodeError:
                other_line = other_line or lineno
            if utf8_line and other_line:
                return f"line {utf8_line} is UTF-8 but line {other_line} is not; deliver the whole file in one encoding"
    return None


class Utf8Check:
    """codecs' incremental UTF-8 decoder as a check only: Arrow's validator, ≈ 4× faster on text
    mixing ASCII and Chinese (0.024 s instead of 0.094 s for 60 MB of meter readings). A
    character cut by the chunk's end is carried to the next chunk; on an error codecs decodes
    the chunk again to name the offset (``start`` relative to the chunk, negative when the
    bad sequence began in the previous one)."""

    def __init__(self) -> None:
        self.carry = b""

    def decode(self, chunk: bytes, final: bool = False) -> None:
        data = self.carry + chunk if self.carry else chunk
        cut = len(data)
        if not final:  # a lead byte among the last three may start a character the next chunk ends
            lead = next((i for i in range(len(data) - 1, max(len(data) - 4, -1), -1) if data[i] & 0xC0 != 0x80), None)
            if lead is not None and data[lead] >= 0xC0:
                cut = lead
        whole = data[:cut]
        try:
            offsets = pa.array([0, len(whole)], pa.int32()).buffers()[1]
            pa.Array.from_buffers(pa.string(), 1, [None, offsets, pa.py_buffer(whole)]).validate(full=True)
        except pa.ArrowInvalid:
            try:
                codecs.getincrementaldecoder("utf-8")().decode(data, final=final)
            except UnicodeDecodeError as exc:
                raise UnicodeDecodeError("utf-8", chunk, exc.start - len(self.carry), exc.end - len(self.carry),
                                         exc.reason) from None
        self.carry = data[cut:]


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) or GB18030 (a superset of GBK); anything else is rejected."""
    with path.open("rb") as fh:
        head = fh.read(8)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise FileRejected("unsupported encoding", "UTF-16 (byte-order mark found); deliver UTF-8 or GBK")
        _sniff_binary(head)
        fh.seek(0)
        bom = head.startswith(codecs.BOM_UTF8)
        for encoding in ("utf-8", "gb18030"):
            fh.seek(0)
            decoder = Utf8Check() if encoding == "utf-8" else codecs.getincrementaldecoder(encoding)()
            offset = 0
            try:
                while chunk := fh.read(1 << 20):
                    if b"\x00" in chunk:
                        at = offset + chunk.index(b"\x00")
                        if offset == 0 and max(chunk[:64:2].count(0), chunk[1:64:2].count(0)) >= 16:
                            raise FileRejected("unsupported encoding", "UTF-16 without a byte-order mark; deliver UTF-8 or GBK")
                        raise FileRejected("binary content", f"NUL byte at offset {at}; not a text file")
                    decoder.decode(chunk)
                    offset += len(chunk)
                decoder.decode(b"", final=True)
                if encoding == "gb18030" and (mixed := _mixed_encoding(path)):
                    raise FileRejected("mixed encodings", mixed)
                return "utf-8-sig" if bom else encoding
            except UnicodeDecodeError as exc:
                bad_at = offset + exc.start
                continue
    raise FileRejected("invalid encoding", f"bytes at offset {bad_at} are neither UTF-8 nor GBK/GB18030")


def _normalise_columns(names: list[str]) -> list[str]:
    # Column names are quoted only when their shape cannot be data (safe_token): a file
    # without a header row has a data row here.
    cols = [n.strip().lstrip("\ufeff").strip().lower() for n in names]
    seen: set[str] = set()
    for i, c in enumerate(cols, 1):
        if c in seen:
            shown = f"column {i} ({safe_token(c)!r})" if safe_token(c) else f"column {i}"
            raise FileRejected("duplicated column", f"{shown} repeats an earlier column name in the header")
        seen.add(c)
    if empty := [i for i, c in enumerate(cols, 1) if not c]:
        raise FileRejected("empty column name", f"column {empty[0]} of {len(cols)} in the header has no name")
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
    if len(header) == 1 and (delim := next((d for d in (";", "\t", "|") if d in header[0]), None)):
        raise FileRejected("wrong delimiter", f"the header is split by {delim!r}, not commas; deliver comma-separated values")
    columns = _normalise_columns(header)
    _check_quotes(path)
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
        raise FileRejected("unparseable CSV", _ragged_row(path, encoding, len(columns)) or _arrow_msg(exc)) from None

    def batches() -> Iterator[pa.RecordBatch]:
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
                raise FileRejected("unparseable CSV", _ragged_row(path, encoding, len(columns)) or _arrow_msg(exc)) from None
            if batch.num_rows:
                yield batch

    return FileBatches(columns, encoding, batches())


def _check_quotes(path: Path) -> None:
    """An odd number of '"' means a quoted value never closes (a truncated file): Arrow would accept it.

    Exact for UTF-8 and GB18030, whose multi-byte sequences never contain the byte 0x22.
    """
    with path.open("rb") as fh:
        quotes = sum(chunk.count(b'"') for chunk in iter(lambda: fh.read(1 << 20), b""))
    if quotes % 2:
        raise FileRejected("unbalanced quotes", 'a quoted value is never closed (odd number of \'"\'); is the file truncated?')


def _arrow_msg(exc: Exception) -> str:
    # Arrow quotes the offending row after "got N:"; keep it out (it may hold personal data).
    msg = str(exc).strip().splitlines()[0]
    return re.sub(r"(Expected \d+ columns, got \d+):.*", r"\1 (row content withheld)", msg)[:300]


def _ragged_row(path: Path, encoding: str, width: int) -> str | None:
    """Only on the error path: find the first record whose field count differs from the header."""
    import csv as pycsv

    try:
        with path.open("r", encoding=encoding, newline="") as fh:
            reader = pycsv.reader(fh)
            for record in reader:
                if len(record) != width:
                    return f"line {reader.line_num} has {len(record)} fields, the header has {width}"
    except (pycsv.Error, UnicodeDecodeError, OSError):
        return None
    return None


def as_text(value: object) -> str | None:
    """One source value as the text the coercion layer parses (JSON, API and database rows)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


def _case_collision(obj: dict, where: str, lineno: int, known: frozenset[str]) -> FileRejected:
    """Keys of one object that differ only by letter case would silently overwrite each other.

    The message names a colliding key only when it is a registry field (a key could be data)."""
    groups: dict[str, int] = {}
    for k in obj:
        key = str(k).strip().lower()
        groups[key] = groups.get(key, 0) + 1
    clashing = sorted(k for k, n in groups.items() if n > 1)
    named = [k for k in clashing if k in known]
    what = f"field(s) {', '.join(named)}" if named else f"{len(clashing)} key(s) not in the catalogue"
    return FileRejected("conflicting keys",
                        f"{where} {lineno}: keys that differ only by letter case ({what}); deliver each field once")


def _records_to_batches(records: Iterator[tuple[int, object]], where: str,
                        known: frozenset[str] = frozenset()) -> FileBatches:
    """Turn JSON objects into text batches of JSON_BATCH_ROWS rows, streaming (memory is per batch).

    Columns are the union of the keys seen so far, in first-seen order: a key that first
    appears in a later batch is null in the earlier ones. The first batch is read eagerly,
    so ``columns`` (checked for required fields before loading) are those of the first
    JSON_BATCH_ROWS objects, and a malformed start of the file is reported at once.
    """
    columns: list[str] = []
    seen: set[str] = set()

    def build(rows: list[dict]) -> pa.RecordBatch:
        arrays = [pa.array([r.get(c) for r in rows], pa.string()) for c in columns]
        return pa.RecordBatch.from_arrays(arrays, names=list(columns))

    def chunks() -> Iterator[pa.RecordBatch]:
        rows: list[dict] = []
        for lineno, obj in records:
            if not isinstance(obj, dict):
                raise FileRejected("not a JSON object", f"{where} {lineno}: expected an object, got {type(obj).__name__}")
            row = {}
            for k, v in obj.items():
                key = str(k).strip().lower()
                if key in row:
                    raise _case_collision(obj, where, lineno, known)
                if key not in seen:
                    seen.add(key)
                    columns.append(key)
                try:
                    row[key] = as_text(v)
                except RecursionError:
                    raise FileRejected("invalid JSON", f"{where} {lineno}: nested too deeply") from None
            rows.append(row)
            if len(rows) == JSON_BATCH_ROWS:
                yield build(rows)
                rows = []
        if rows:
            yield build(rows)

    stream = chunks()
    first = next(stream, None)
    first_columns = list(columns)

    def batches() -> Iterator[pa.RecordBatch]:
        if first is not None:
            yield first
        yield from stream

    return FileBatches(first_columns, "utf-8", batches())


def _read_jsonl(path: Path, known: frozenset[str] = frozenset()) -> FileBatches:
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
                except RecursionError:
                    raise FileRejected("invalid JSON", f"line {lineno}: nested too deeply") from None

    return _records_to_batches(records(), "line", known)


WRAPPER_KEYS = ("data", "records", "items", "results")
JSON_CHUNK_CHARS = 1 << 20
JSON_MAX_VALUE_CHARS = 64 << 20  # one element larger than this is reported, not buffered further
_JSON_BLANK = re.compile(r"[ \t\r\n]*")


class _JsonText:
    """A JSON document read in chunks: values are decoded one at a time, so memory holds one
    chunk plus the value being decoded, never the whole file. Errors name line and column."""

    def __init__(self, fh: io.TextIOBase) -> None:
        self.fh, self.buf, self.pos, self.eof = fh, "", 0, False
        self.lines_before = self.column_before = 0  # position of the buffer's start in the file
        self.decoder = json.JSONDecoder()

    def _more(self) -> bool:
        if self.eof:
            return False
        chunk = self.fh.read(JSON_CHUNK_CHARS)
        if not chunk:
            self.eof = True
            return False
        newlines = self.buf.count("\n", 0, self.pos)
        self.lines_before += newlines
        last = self.buf.rfind("\n", 0, self.pos)
        self.column_before = self.pos - last - 1 if newlines else self.column_before + self.pos
        self.buf, self.pos = self.buf[self.pos :] + chunk, 0
        return True

    def error(self, msg: str, at: int | None = None) -> FileRejected:
        at = self.pos if at is None else at
        line = self.lines_before + self.buf.count("\n", 0, at) + 1
        last = self.buf.rfind("\n", 0, at)
        column = at - last if last >= 0 else self.column_before + at + 1
        return FileRejected("invalid JSON", f"line {line} column {column}: {msg}")

    def peek(self) -> str:
        """The next non-blank character ('' at the end), without consuming it."""
        while True:
            self.pos = _JSON_BLANK.match(self.buf, self.pos).end()
            if self.pos < len(self.buf) or not self._more():
                return self.buf[self.pos : self.pos + 1]

    def expect(self, chars: str) -> str:
        ch = self.peek()
        if not ch or ch not in chars:
            raise self.error(f"Expecting {chars[0]!r} delimiter")
        self.pos += 1
        return ch

    def value(self) -> object:
        self.peek()
        while True:
            try:
                obj, end = self.decoder.raw_decode(self.buf, self.pos)
            except RecursionError:
                raise self.error("nested too deeply") from None
            except json.JSONDecodeError as exc:
                if len(self.buf) - self.pos < JSON_MAX_VALUE_CHARS and self._more():
                    continue  # the value may just continue in the next chunk
                raise self.error(exc.msg, exc.pos) from None
            if end == len(self.buf) and self._more():
                continue  # a number at the chunk's end may go on in the next one
            self.pos = end
            return obj

    def array(self) -> Iterator[object]:
        """The elements of the array that starts here ('[' already consumed)."""
        if self.peek() == "]":
            self.pos += 1
            return
        while True:
            yield self.value()
            if self.expect(",]") == "]":
                return


def _read_json(path: Path, known: frozenset[str] = frozenset()) -> FileBatches:
    """A top-level array of objects, or an object wrapping it under data/records/items/results.

    Streamed element by element; with a wrapper, the first of those keys (in file order)
    whose value is an array is used and the other members are read and skipped.
    """
    encoding = detect_encoding(path)
    layout = FileRejected("invalid JSON layout", "expected an array of objects (or {\"data\": [...]})")

    def elements() -> Iterator[tuple[int, object]]:
        with path.open("r", encoding=encoding) as fh:
            doc = _JsonText(fh)
            start = doc.peek()
            if start not in ("[", "{"):
                if start:
                    doc.value()  # a scalar document: valid JSON, wrong layout (or the decoder's own error)
                raise layout if start else doc.error("Expecting value")
            doc.pos += 1
            found = start == "["
            if found:
                yield from enumerate(doc.array(), 1)
            elif doc.peek() == "}":
                doc.pos += 1
            else:
                while True:
                    if doc.peek() != '"':
                        raise doc.error("Expecting property name enclosed in double quotes")
                    key = doc.value()
                    doc.expect(":")
                    if not found and key in WRAPPER_KEYS and doc.peek() == "[":
                        doc.pos += 1
                        found = True
                        yield from enumerate(doc.array(), 1)
                    else:
                        doc.value()
                    if doc.expect(",}") == "}":
                        break
            if doc.peek():
                raise doc.error("Extra data")
            if not found:
                raise layout

    return _records_to_batches(elements(), "element", known)


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


def read_file(path: Path, known_columns: frozenset[str] | set[str] = frozenset()) -> FileBatches:
    """Open a landed file; FileRejected names what is wrong with it.

    ``known_columns`` (the resource's field names) may be quoted in messages; other keys are
    delivered content and are only counted."""
    kind = file_kind(path)
    if kind in ("json", "jsonl"):
        return READERS[kind](path, frozenset(known_columns))
    return READERS[kind](path)
