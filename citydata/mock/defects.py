"""Defect injection with ground truth: every defect written into a mock file is listed in its manifest.

Row kinds (exactly one kind per defective row, and a duplicate's original is always clean,
so a checker can be scored row by row):
- missing_required  a required field (registry `required` or primary key) is blank/null.
- out_of_range      a numeric field breaks its vocab.Range (battery 0–100, hazard 0–3,
                    occupied ≤ capacity, coordinates inside the county, readings ≥ 0 …).
- invalid_code      a code breaks its format: a citizen ID with a wrong check digit, a
                    malformed meter/lot/institution ID or plate, or an enumeration value
                    outside the vocabulary (often the Chinese label, e.g. 自动 for auto).
- duplicate         an exact copy of an earlier clean row, placed later in the file;
                    listed with the copy's row_number and "duplicate_of" the original's.
- late              the event time is older than vocab.LATE_AFTER before the delivery
                    (only resources that deliver recent events; not registries). The other
                    values are recomputed for that time, so the time is the only fault.
- future            the event time lies 1–72 h after the delivery (beyond FUTURE_AFTER).
File kinds (apply to every file of the call that names them; never chosen at random):
- schema_renamed    a required column's header is its Chinese name (e.g. 水表编号).
- schema_missing    a required column is left out of the file.
- schema_extra      an undeclared column `remark` is added.
- gbk_encoding      the file is written in GBK instead of UTF-8 (text formats only).
- truncated         the file is cut in the middle of its last data row (as by a broken
                    transfer); `rows` in the manifest still counts that partial row.
Row kinds are spread over max(1, round(rate × rows)) distinct rows, round-robin over the
requested kinds that apply to the resource; kinds that do not apply are listed in the
manifest's "not_applicable". Row defects never touch a column a file defect renamed or dropped.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from pathlib import Path

from citydata.domain import vocab
from citydata.errors import CitydataError
from citydata.mock.generators import retime
from citydata.registry import Resource

ROW_KINDS = ("missing_required", "out_of_range", "invalid_code", "duplicate", "late", "future")
FILE_KINDS = ("schema_renamed", "schema_missing", "schema_extra", "gbk_encoding", "truncated")
KINDS = ROW_KINDS + FILE_KINDS
DEFAULT_RATE = 0.05  # used when row kinds are named but no --defect-rate is given


def parse_kinds(kinds: list[str] | None) -> list[str]:
    """Validate defect kind names (None → every row kind)."""
    if not kinds:
        return list(ROW_KINDS)
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise CitydataError(f"unknown defect kind(s) {', '.join(unknown)}; known: {', '.join(KINDS)}")
    return list(dict.fromkeys(kinds))


@dataclass
class Corrupted:
    rows: list[dict]
    columns: list[str]
    row_defects: list[dict] = field(default_factory=list)
    file_defects: list[dict] = field(default_factory=list)
    not_applicable: list[str] = field(default_factory=list)
    encoding: str = "utf-8"
    truncate: bool = False


def _key(resource: Resource, row: dict) -> tuple:
    return tuple(row.get(k) for k in resource.primary_key)


def _applicable(kind: str, resource: Resource, rules: dict, free: set[str]) -> bool:
    if kind == "missing_required":
        return any(c in free for c in resource.required_fields)
    if kind == "out_of_range":
        return any(isinstance(r, vocab.Range) and c in free for c, r in rules.items())
    if kind == "invalid_code":
        return any(isinstance(r, vocab.Pattern | vocab.Enum) and c in free for c, r in rules.items())
    if kind == "late":
        return resource.key in vocab.LATE_AFTER and resource.event_time in free
    if kind == "future":
        return resource.event_time in free
    return True  # duplicate


def _out_of_range(rng: random.Random, rule: vocab.Range, row: dict, integer: bool) -> object:
    if rule.max_column and row.get(rule.max_column) is not None:
        return row[rule.max_column] + rng.randint(1, 40)
    if rule.max is not None and (rule.min is None or rng.random() < 0.5):
        v = rule.max + (rng.randint(1, 100) if integer else round(rng.uniform(0.5, 100), 3))
    else:
        v = (rule.min or 0) - (rng.randint(1, 50) if integer else round(rng.uniform(0.5, 50), 3))
    return int(v) if integer else v


def _invalid_code(rng: random.Random, rule: vocab.Pattern | vocab.Enum, value: object) -> object:
    if isinstance(rule, vocab.Enum):
        wrong = [x for x in (*rule.labels_zh, "unknown", "其他", "") if x and x not in rule.values]
        return rng.choice(wrong)
    text = str(value)
    if rule.check == "citizen_id" and len(text) == 18:
        return text[:17] + rng.choice([c for c in "0123456789X" if c != text[17]])
    options = [text[:-1], text[:-2] + "O" + text[-1:], text + "7", text.lower() if text.upper() != text.lower() else text + "#"]
    for candidate in rng.sample(options, len(options)):
        if not vocab.is_valid(rule, candidate):
            return candidate
    return text + "#"


def _event_at(rng: random.Random, resource: Resource, kind: str, now: dt.datetime) -> dt.datetime:
    if kind == "late":
        t = now - vocab.LATE_AFTER[resource.key] - dt.timedelta(hours=rng.uniform(1, 24 * 20))
    else:
        t = now + vocab.FUTURE_AFTER + dt.timedelta(hours=rng.uniform(1, 72))
    t = t.replace(microsecond=0, second=0)
    if resource.key.endswith(".meter_readings"):
        t -= dt.timedelta(minutes=t.minute % 15)
    return t


def _pick_column(rng: random.Random, candidates: list[str], row: dict, need_value: bool) -> str | None:
    usable = [c for c in candidates if not need_value or row.get(c) not in (None, "")]
    return rng.choice(usable) if usable else None


def corrupt(resource: Resource, rows: list[dict], *, rate: float, kinds: list[str], seed: int,
            now: dt.datetime, fmt: str) -> Corrupted:
    """Inject the requested defects into clean rows; returns rows to write and the ground truth.

    File defects first (they decide which columns row defects may use), then row defects,
    then the duplicates are placed and every defect gets its row number. One random stream
    in this order: the same seed gives the same file.
    """
    rng = random.Random(f"{seed}:defects:{resource.key}:{now.isoformat()}")
    out = Corrupted(rows=[dict(r) for r in rows], columns=[f.name for f in resource.fields])
    touched = _file_defects(out, resource, [k for k in kinds if k in FILE_KINDS], rng, fmt)
    free = {f.name for f in resource.fields} - touched
    rules = vocab.rules(resource.key)
    row_kinds = [k for k in kinds if k in ROW_KINDS]
    usable = [k for k in row_kinds if _applicable(k, resource, rules, free)]
    out.not_applicable += [k for k in row_kinds if k not in usable]
    n = len(out.rows)
    count = min(n, max(1, round(rate * n))) if (rate > 0 and n and usable) else 0
    if not count:
        return out
    targets = sorted(rng.sample(range(n), count))
    order = rng.sample(usable, len(usable))
    keys = {_key(resource, r) for r in out.rows}
    tags: dict[int, tuple[str, str | None]] = {}
    dup_sources: list[int] = []
    for j, idx in enumerate(targets):
        kind = order[j % len(order)]
        if kind == "duplicate":
            dup_sources.append(idx)
            continue
        col = _row_defect(out, idx, kind, resource, rules, free, keys, rng, now, seed)
        if col is not None:  # else nothing suitable in this row: it stays clean (and is not listed)
            tags[idx] = (kind, col)
    _number_defects(out, tags, dup_sources, rng)
    return out


def _file_defects(out: Corrupted, resource: Resource, kinds: list[str], rng: random.Random, fmt: str) -> set[str]:
    """Apply the file kinds to ``out``; returns the columns they renamed or dropped."""
    touched: set[str] = set()
    required = list(resource.required_fields)
    for kind in kinds:
        if kind in ("schema_renamed", "schema_missing"):
            col = _pick_column(rng, [c for c in required if c not in touched], {}, False)
            if not col:
                out.not_applicable.append(kind)
                continue
            touched.add(col)
            if kind == "schema_renamed":
                new = resource.field(col).name_zh or f"{col}_renamed"
                out.columns[out.columns.index(col)] = new
                for r in out.rows:
                    r[new] = r.pop(col, None)
                out.file_defects.append({"kind": kind, "column": col, "renamed_to": new})
            else:
                out.columns.remove(col)
                for r in out.rows:
                    r.pop(col, None)
                out.file_defects.append({"kind": kind, "column": col})
        elif kind == "schema_extra":
            out.columns.append("remark")
            for r in out.rows:
                r["remark"] = rng.choice(("", "补录", "人工核对", "系统同步"))
            out.file_defects.append({"kind": kind, "column": "remark"})
        elif kind == "gbk_encoding":
            if fmt == "parquet":
                out.not_applicable.append(kind)
                continue
            out.encoding = "gbk"
            out.file_defects.append({"kind": kind, "encoding": "gbk"})
        elif kind == "truncated":
            out.truncate = bool(out.rows)
            if out.truncate:
                out.file_defects.append({"kind": kind})
            else:
                out.not_applicable.append(kind)
    return touched


def _row_defect(out: Corrupted, idx: int, kind: str, resource: Resource, rules: dict, free: set[str],
                keys: set[tuple], rng: random.Random, now: dt.datetime, seed: int) -> str | None:
    """Break row ``idx`` of ``out`` by one row kind (not duplicate); the column broken, or None."""
    row = out.rows[idx]
    if kind == "missing_required":
        col = _pick_column(rng, [c for c in resource.required_fields if c in free], row, True)
        if col:
            row[col] = None
        return col
    if kind == "out_of_range":
        col = _pick_column(rng, [c for c, r in rules.items() if isinstance(r, vocab.Range) and c in free], {}, False)
        if col:
            row[col] = _out_of_range(rng, rules[col], row, resource.field(col).type == "integer")
        return col
    if kind == "invalid_code":
        cands = [c for c, r in rules.items() if isinstance(r, vocab.Pattern | vocab.Enum) and c in free]
        col = _pick_column(rng, cands, row, True)
        if col:
            row[col] = _invalid_code(rng, rules[col], row[col])
        return col
    col = resource.event_time  # late / future: retimed, keeping the key unique
    for _ in range(50):
        new = retime(resource.key, row, col, _event_at(rng, resource, kind, now), seed)
        if _key(resource, new) == _key(resource, row) or _key(resource, new) not in keys:
            keys.add(_key(resource, new))
            out.rows[idx] = new
            return col
    return None


def _number_defects(out: Corrupted, tags: dict[int, tuple[str, str | None]], dup_sources: list[int],
                    rng: random.Random) -> None:
    """Place each duplicate copy somewhere after its original, then list every defect by row number."""
    final: list[tuple[dict, int | None, tuple | None]] = [(r, i, tags.get(i)) for i, r in enumerate(out.rows)]
    for src in dup_sources:
        pos = next(p for p, (_, i, _) in enumerate(final) if i == src)
        at = rng.randint(pos + 1, len(final))
        final.insert(at, (dict(out.rows[src]), None, ("duplicate", src)))
    number_of = {i: p + 1 for p, (_, i, _) in enumerate(final) if i is not None}
    for p, (_, _i, tag) in enumerate(final):
        if not tag:
            continue
        kind, extra = tag
        if kind == "duplicate":
            out.row_defects.append({"row_number": p + 1, "kind": "duplicate", "column": None,
                                    "duplicate_of": number_of[extra]})
        else:
            out.row_defects.append({"row_number": p + 1, "kind": kind, "column": extra})
    out.rows = [r for r, _, _ in final]


def truncate_file(path: Path, rng: random.Random, fmt: str) -> dict:
    """Cut the file inside its last data row, at an ASCII byte (so the encoding stays valid).

    CSV is cut before the row's last separator, so the partial row is short of columns
    (a parser must notice) rather than silently carrying a shortened last value.
    """
    data = path.read_bytes()
    body = data.rstrip(b"\r\n]")
    start = body.rfind(b"\n") + 1
    if start <= 0 or start >= len(body) - 2:
        start = max(0, len(body) // 2)
    end = len(body) - 1
    if fmt == "csv" and body.rfind(b",") > start:
        end = body.rfind(b",")
    candidates = [i for i in range(start + 1, end) if data[i] < 0x80]
    cut = rng.choice(candidates) if candidates else len(body) - 1
    path.write_bytes(data[:cut])
    return {"bytes_full": len(data), "bytes_written": cut}
