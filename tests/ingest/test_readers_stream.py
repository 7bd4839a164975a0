"""JSON and JSON Lines are read in bounded batches: same rows as a whole-file parse, memory flat."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from citydata.errors import FileRejected
from citydata.ingest import readers


def _records(n: int) -> list[dict]:
    out = []
    for i in range(n):
        r = {"meter_id": f"WM{i:06d}", "reading_m3": i * 0.25, "ok": i % 2 == 0, "note": None, "tags": [i, "标签"]}
        if i >= n // 2:
            r["late_key"] = f"x{i}"  # appears only in later batches
        out.append(r)
    return out


def _expected(records: list[dict]) -> list[dict]:
    """What the reader promises per row: every value as text (JSON for lists), keys lower-cased."""
    return [{k.lower(): readers.as_text(v) for k, v in r.items()} for r in records]


def _rows(path: Path) -> tuple[list[str], list[dict], int]:
    fb = readers.read_file(path)
    rows, batches = [], 0
    for batch in fb.batches:
        batches += 1
        rows.extend({k: v for k, v in r.items() if v is not None or k in ("note",)} for r in batch.to_pylist())
    return fb.columns, rows, batches


def _clean(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if v is not None} for r in rows]


@pytest.mark.parametrize("layout", ["array", "wrapped", "jsonl"])
def test_streamed_json_gives_every_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: str) -> None:
    monkeypatch.setattr(readers, "JSON_BATCH_ROWS", 100)
    monkeypatch.setattr(readers, "JSON_CHUNK_CHARS", 333)  # values straddle chunk boundaries
    records = _records(1050)
    if layout == "jsonl":
        path = tmp_path / "d.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    else:
        path = tmp_path / "d.json"
        doc = records if layout == "array" else {"meta": {"count": len(records), "list": [1, 2]}, "data": records}
        path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    columns, rows, batches = _rows(path)
    assert batches == 11
    assert columns == ["meter_id", "reading_m3", "ok", "note", "tags"]  # those of the first batch
    assert _clean(rows) == _clean(_expected(records))


def test_error_deep_in_a_streamed_array_names_line_and_column(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "JSON_BATCH_ROWS", 10)
    monkeypatch.setattr(readers, "JSON_CHUNK_CHARS", 64)
    lines = ["["] + [f'  {{"meter_id": "WM{i}"}},' for i in range(50)] + ['  {"meter_id": }', "]"]
    path = tmp_path / "bad.json"
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(FileRejected) as err:
        _rows(path)
    assert err.value.reason == "invalid JSON"
    try:  # the same position a whole-document parse reports
        json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        assert err.value.details == f"line {exc.lineno} column {exc.colno}: {exc.msg}" == "line 52 column 16: Expecting value"


def test_trailing_garbage_and_bad_layout_are_rejected(tmp_path: Path) -> None:
    cases = {"extra.json": ('[{"a": 1}] x', "line 1 column 12: Extra data"),
             "scalar.json": ("42", None), "nolist.json": ('{"data": {"a": 1}}', None)}
    for name, (content, details) in cases.items():
        (tmp_path / name).write_text(content, encoding="utf-8")
        with pytest.raises(FileRejected) as err:
            _rows(tmp_path / name)
        if details:
            assert err.value.details == details
        else:
            assert err.value.reason == "invalid JSON layout"


def _peak_bytes(path: Path) -> int:
    tracemalloc.start()
    try:
        n = sum(b.num_rows for b in readers.read_file(path).batches)
        assert n > 0
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("suffix", ["json", "jsonl"])
def test_peak_memory_is_bounded_by_the_batch_not_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          suffix: str) -> None:
    monkeypatch.setattr(readers, "JSON_BATCH_ROWS", 1_000)
    records = [{"meter_id": f"WM{i:07d}", "reading_m3": f"{i * 0.5:.3f}", "district": "界湖街道"} for i in range(30_000)]
    path = tmp_path / f"d.{suffix}"
    if suffix == "json":
        path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    else:
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    del records
    # A whole-file parse holds every row as Python objects (> 20 MB here); streaming holds one
    # batch plus a 1 MiB read chunk (about 3-5 MB, whatever the file size).
    assert _peak_bytes(path) < 10 << 20
