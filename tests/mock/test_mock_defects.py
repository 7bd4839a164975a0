"""Defect injection: the manifest lists exactly the defects in the file (no more, no fewer)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest

from citydata.domain import vocab
from citydata.errors import CitydataError
from citydata.mock.defects import FILE_KINDS, ROW_KINDS
from citydata.mock.generate import generate
from citydata.registry import load_registry, parse_registry
from citydata.sources.base import parse_time

NOW = dt.datetime(2026, 11, 26, 3, 41, 9, tzinfo=dt.UTC)


def read_rows(path: Path, fmt: str, encoding: str) -> tuple[list[str], list[dict]]:
    text = path.read_bytes().decode(encoding)
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(text))
        rows = list(reader)
        return list(reader.fieldnames or []), [{k: (v if v != "" else None) for k, v in r.items()} for r in rows]
    records = [json.loads(line) for line in text.splitlines() if line.strip()] if fmt == "jsonl" else json.loads(text)
    cols = list(dict.fromkeys(k for r in records for k in r))
    return cols, [{k: (None if v is None else str(v) if not isinstance(v, str) else v) for k, v in r.items()}
                  for r in records]


def manifest_for(home: Path, path: Path) -> dict:
    dept, res = path.parent.parent.name, path.parent.name
    m = home / "manifests" / dept / res / f"{path.name}.manifest.json"
    assert m.exists(), m
    return json.loads(m.read_text(encoding="utf-8"))


def problems(resource, row: dict, now: dt.datetime) -> set[str]:
    """Every row-level defect kind a row shows (duplicates are checked separately)."""
    found = set()
    if any(row.get(c) in (None, "") for c in resource.required_fields):
        found.add("missing_required")
    for col, rule in vocab.rules(resource.key).items():
        if row.get(col) in (None, ""):
            continue
        value: object = row[col]
        if isinstance(rule, vocab.Range):
            other = {rule.max_column: float(row[rule.max_column])} if rule.max_column and row.get(rule.max_column) else None
            if not vocab.is_valid(rule, float(value), other):
                found.add("out_of_range")
        elif not vocab.is_valid(rule, value):
            found.add("invalid_code")
    t = parse_time(row.get(resource.event_time))
    if t is not None:
        if resource.key in vocab.LATE_AFTER and t < now - vocab.LATE_AFTER[resource.key]:
            found.add("late")
        if t > now + vocab.FUTURE_AFTER:
            found.add("future")
    return found


@pytest.mark.parametrize("department", ["water", "gas", "parking", "health"])
def test_manifest_lists_exactly_the_row_defects_in_the_file(home: Path, department: str) -> None:
    registry = load_registry()
    paths = generate(registry, department, rows=400, seed=21, defect_rate=0.08, now=NOW)
    for path in paths:
        res = registry.resource(department, path.parent.name)
        m = manifest_for(home, path)
        assert m["file"] == path.name and m["department"] == department and m["resource"] == res.name
        assert m["seed"] == 21 and m["file_defects"] == []
        cols, rows = read_rows(path, res.format, m["encoding"])
        assert cols == [f.name for f in res.fields]
        assert m["rows"] == len(rows)
        listed = {d["row_number"]: d for d in m["row_defects"]}
        assert len(listed) == len(m["row_defects"]), "one defect kind per row"
        applicable = [k for k in ROW_KINDS if k not in m["not_applicable"]]
        assert {d["kind"] for d in m["row_defects"]} == set(applicable), (res.key, m["not_applicable"])
        assert len(rows) - sum(d["kind"] == "duplicate" for d in m["row_defects"]) == 400
        seen: dict[tuple, int] = {}
        for n, row in enumerate(rows, 1):
            kinds = problems(res, row, NOW)
            key = tuple(sorted(row.items(), key=lambda kv: kv[0]))
            d = listed.get(n)
            if d and d["kind"] == "duplicate":
                assert kinds == set() and seen.get(key) == d["duplicate_of"], (res.key, n, d)
                continue
            assert key not in seen, f"{res.key} row {n}: unlisted duplicate of row {seen.get(key)}"
            seen[key] = n
            if d is None:
                assert kinds == set(), f"{res.key} row {n}: unlisted defect(s) {kinds}: {row}"
            else:
                assert kinds == {d["kind"]}, f"{res.key} row {n}: listed {d}, found {kinds}: {row}"
                if d["kind"] == "missing_required":
                    assert row[d["column"]] is None


def test_same_seed_same_files_and_manifests(home: Path, tmp_path: Path) -> None:
    registry = load_registry()
    a = generate(registry, "health", rows=120, seed=5, defect_rate=0.1, now=NOW, out=tmp_path / "a")
    ma = [manifest_for(home, p) for p in a]
    b = generate(registry, "health", rows=120, seed=5, defect_rate=0.1, now=NOW, out=tmp_path / "b")
    mb = [manifest_for(home, p) for p in b]
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    assert ma == mb
    c = generate(registry, "health", rows=120, seed=6, defect_rate=0.1, now=NOW, out=tmp_path / "c")
    assert [p.read_bytes() for p in a] != [p.read_bytes() for p in c]


def test_manifests_stay_outside_the_landing_zone(home: Path) -> None:
    paths = generate(load_registry(), "water", rows=20, seed=1, defects=["duplicate"], now=NOW)
    landing = home / "landing"
    assert all(landing in p.parents for p in paths)
    assert not list(landing.rglob("*.json"))  # water delivers CSV: any JSON here would be a leaked manifest
    assert len(list((home / "manifests").rglob("*.manifest.json"))) == len(paths)


def test_file_defects_do_what_the_manifest_says(home: Path) -> None:
    registry = load_registry()
    paths = generate(registry, "health", resources=["card_visits"], rows=50, seed=3, now=NOW,
                     defects=["schema_renamed", "schema_missing", "schema_extra", "gbk_encoding"])
    path = paths[0]
    m = manifest_for(home, path)
    kinds = {d["kind"]: d for d in m["file_defects"]}
    assert set(kinds) == {"schema_renamed", "schema_missing", "schema_extra", "gbk_encoding"}
    raw = path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    cols, rows = read_rows(path, "csv", "gbk")
    renamed = kinds["schema_renamed"]
    assert renamed["column"] not in cols and renamed["renamed_to"] in cols
    assert renamed["renamed_to"] == registry.resource("health", "card_visits").field(renamed["column"]).name_zh
    assert kinds["schema_missing"]["column"] not in cols
    assert "remark" in cols
    assert renamed["column"] != kinds["schema_missing"]["column"]
    assert len(rows) == m["rows"] == 50
    assert m["row_defects"] == []


@pytest.mark.parametrize("department,resource", [("water", "meter_readings"), ("gas", "safety_inspections"),
                                                 ("parking", "sessions")])
def test_truncated_file_is_cut_inside_its_last_row_and_rejected_on_ingest(home: Path, department: str,
                                                                          resource: str) -> None:
    from citydata.ingest.pipeline import ingest_department

    registry = load_registry()
    path = generate(registry, department, resources=[resource], rows=30, seed=2, now=NOW, defects=["truncated"])[0]
    m = manifest_for(home, path)
    (d,) = m["file_defects"]
    assert d["kind"] == "truncated" and d["bytes_written"] < d["bytes_full"] == d["bytes_full"]
    assert path.stat().st_size == d["bytes_written"]
    records = [r for r in ingest_department(department, registry) if r.resource == resource]
    assert [r.status for r in records] == ["rejected"]


def test_defects_requested_by_kind_default_to_a_rate_and_unknown_kinds_fail_clearly(home: Path) -> None:
    registry = load_registry()
    path = generate(registry, "parking", resources=["occupancy"], rows=100, seed=1, now=NOW, defects=["future"])[0]
    m = manifest_for(home, path)
    assert [d["kind"] for d in m["row_defects"]] == ["future"] * 5
    with pytest.raises(CitydataError, match="unknown defect kind.*bogus"):
        generate(registry, "parking", rows=10, defects=["future", "bogus"], now=NOW)
    assert set(FILE_KINDS).isdisjoint(ROW_KINDS)


def test_cli_generate_with_defects(home: Path, capsys: pytest.CaptureFixture) -> None:
    from citydata.app.cli import main

    assert main(["generate", "gas", "--rows", "40", "--seed", "4", "--defect-rate", "0.1",
                 "--defects", "duplicate,invalid_code,schema_extra", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out) == 3
    for p in map(Path, out):
        m = manifest_for(home, p)
        assert {d["kind"] for d in m["file_defects"]} == {"schema_extra"}
        assert {d["kind"] for d in m["row_defects"]} <= {"duplicate", "invalid_code"}
    assert main(["generate", "gas", "--defects", "nonsense"]) == 1
    assert "unknown defect kind" in capsys.readouterr().err


def test_resources_added_by_configuration_get_generic_rows_and_a_manifest(home: Path) -> None:
    raw = {"departments": {"heat": {"name_zh": "供热", "name_en": "Heating", "provider": "县热力公司", "resources": {
        "readings": {"code": "371321-RL-0001", "name_zh": "热表读数", "name_en": "Heat meter readings",
                     "update_cycle": "实时", "interval_minutes": 15, "sharing_type": "无条件共享",
                     "event_time": "read_at", "primary_key": ["meter_id", "read_at"],
                     "fields": [{"name": "meter_id", "type": "string", "required": True},
                                {"name": "read_at", "type": "timestamp", "required": True},
                                {"name": "gj", "type": "float"}]}}}}}
    registry = parse_registry(raw)
    path = generate(registry, "heat", rows=60, seed=1, defect_rate=0.1, now=NOW)[0]
    m = manifest_for(home, path)
    cols, rows = read_rows(path, "csv", "utf-8")
    assert cols == ["meter_id", "read_at", "gj"] and m["rows"] == len(rows)
    assert {d["kind"] for d in m["row_defects"]} == {"missing_required", "duplicate", "future"}
    assert set(m["not_applicable"]) == {"out_of_range", "invalid_code", "late"}
