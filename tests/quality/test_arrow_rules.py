"""Differential: the suites' row rules as Arrow compute give GX's verdicts, row for row.

The same suite (expectations/*.json) runs through both engines of ``SuiteCheck``: "gx" (every
rule through Great Expectations, the reference) and "arrow" (row rules compiled by
citydata.quality.arrow_rules, the rest through GX). Compared: every failure (check, severity,
rows), every evaluation (check, evaluated, failed) and the key verdict the loader relies on
(``keys_unique``) — on every readable file of the bad-input corpus and on generated batches of
every resource (valid mock rows with cells replaced by hostile values).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from citydata.domain.time import LOCAL_TZ
from citydata.errors import CitydataError
from citydata.ingest.coerce import coerce_batch
from citydata.ingest.readers import read_file
from citydata.quality.arrow_rules import compile_rule
from citydata.quality.checks import basic_checks
from citydata.quality.suites import SuiteCheck, load_suite
from citydata.registry import load_registry

REPO = Path(__file__).resolve().parents[2]
REGISTRY = load_registry(REPO / "include" / "departments.yaml")
CORPUS = REPO / "tests" / "reliability" / "data" / "bad" / "files"
CORPUS_DAY = dt.datetime(2026, 11, 2, 12, tzinfo=LOCAL_TZ)  # the day after the corpus's readings


def suite_of(resource):  # noqa: ANN001, ANN201
    return load_suite(REPO / "expectations" / f"{resource.key}.json", resource)


def verdicts(resource, batches: list[pa.RecordBatch], engine: str, now: dt.datetime) -> list:  # noqa: ANN001
    """What one engine decides for a delivery's batches: failures, evaluations, keys_unique."""
    check = SuiteCheck(suite_of(resource), resource, now=now, engine=engine)
    out = []
    for batch in batches:
        coerced = coerce_batch(batch, resource)
        r = check(coerced, resource)
        out.append((sorted((f.check, f.column, f.severity, tuple(f.rows.tolist()), f.evaluated, f.description)
                           for f in r.failures),
                    sorted((e.check, e.column, e.severity, e.evaluated, e.failed, e.level) for e in r.evaluations),
                    r.batch_errors))
    out.append(check.keys_unique())
    return out


def test_arrow_rules_give_gx_verdicts_on_the_bad_input_corpus() -> None:
    """Every corpus file the reader accepts (the others are rejected before any rule runs)."""
    resource = REGISTRY.resource("water", "meter_readings")
    compared, differ = [], []
    for path in sorted(p for p in CORPUS.iterdir() if p.is_file()):
        try:
            batches = [b for b in read_file(path, {f.name for f in resource.fields}).batches if b.num_rows]
        except CitydataError:
            continue
        if batches:
            compared.append(path.name)
            if verdicts(resource, batches, "arrow", CORPUS_DAY) != verdicts(resource, batches, "gx", CORPUS_DAY):
                differ.append(path.name)
    assert differ == []
    assert len(compared) >= 20, compared  # the corpus still exercises the rules


def test_every_row_rule_of_every_suite_is_compiled_to_arrow() -> None:
    """Nothing silently falls back to GX for the shipped suites (the fallback is for new rule kinds)."""
    for resource in REGISTRY.resources:
        suite = suite_of(resource)
        params = suite.parameters()
        schema = coerce_batch(pa.RecordBatch.from_pydict({f.name: pa.array([None], pa.string())
                                                           for f in resource.fields}), resource).table.schema
        left = [r.check for r in suite.scoped("batch") if compile_rule(r.type, r.kwargs, params, schema) is None]
        assert left == [], f"{resource.key}: {left}"


def test_an_unknown_kwarg_or_rule_kind_stays_with_gx() -> None:
    schema = pa.schema([("a", pa.string()), ("n", pa.int64())])
    assert compile_rule("expect_column_values_to_not_be_null", {"column": "a", "row_condition": 'a=="x"'}, {},
                        schema) is None
    assert compile_rule("expect_column_mean_to_be_between", {"column": "n", "min_value": 1}, {}, schema) is None
    assert compile_rule("expect_column_values_to_be_between", {"column": "a", "min_value": "a"}, {}, schema) is None
    assert compile_rule("expect_column_values_to_not_be_null", {"column": "a"}, {}, schema) is not None


# ---------------------------------------------------------------- generated batches

HOSTILE = ["", " ", "0", "-1", "1e9", "n/a", "NaN", "٣٤", "１２", "SW01١٢٣٤٥٦٧٨", "SW0112345678\n", "SW0112345678 x",
           "RQ0112345678", "TC010001", "YL01001", "中文", "a" * 30, "X", "true", "2026-13-01 00:00:00",
           "1990-01-01 00:00:00", "2999-01-01 00:00:00", "0001-01-01", "京A12345", "京AI2345", "11010519491231002X",
           "110105194912310021", "13800138000", "auto", "manual", "界湖街道", "100", "101", "5000000"]


def _mutated(rows: list[dict], data: st.DataObject) -> list[dict]:
    rows = [dict(r) for r in rows]
    columns = sorted({k for r in rows for k in r})
    for _ in range(data.draw(st.integers(0, 12))):
        i = data.draw(st.integers(0, len(rows) - 1))
        col = data.draw(st.sampled_from(columns))
        kind = data.draw(st.sampled_from(["null", "hostile", "copy", "now"]))
        if kind == "null":
            rows[i][col] = None
        elif kind == "hostile":
            rows[i][col] = data.draw(st.sampled_from(HOSTILE))
        elif kind == "copy":  # another row's value: repeated keys, equal pairs
            rows[i][col] = rows[data.draw(st.integers(0, len(rows) - 1))].get(col)
        else:
            rows[i][col] = dt.datetime.now(dt.UTC).isoformat()
    if data.draw(st.booleans()):  # an identical copy of a row (a duplicate, not a conflict)
        rows.append(dict(rows[data.draw(st.integers(0, len(rows) - 1))]))
    return rows


def _as_batch(rows: list[dict]) -> pa.RecordBatch:
    cols = sorted({k for r in rows for k in r})
    return pa.RecordBatch.from_pydict({c: pa.array([None if r.get(c) is None else str(r[c]) for r in rows], pa.string())
                                       for c in cols})


@pytest.mark.parametrize("resource", REGISTRY.resources, ids=lambda r: r.key)
@settings(max_examples=5, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate], suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(data=st.data())
def test_arrow_rules_give_gx_verdicts_on_generated_batches(resource, data: st.DataObject) -> None:  # noqa: ANN001
    from citydata.mock.generators import render, rows_for

    now = dt.datetime.now(dt.UTC)
    rows = render(rows_for(resource.key, 12, data.draw(st.integers(0, 10_000)), now), "json")
    split = data.draw(st.integers(1, 14))  # one or two batches: the cross-batch key check runs too
    mutated = _mutated(rows, data)
    batches = [_as_batch(part) for part in (mutated[:split], mutated[split:]) if part]
    # the type/required checks run in both engines alike; here only the suite is compared
    assert all(basic_checks(coerce_batch(b, resource), resource) is not None for b in batches)
    assert verdicts(resource, batches, "arrow", now) == verdicts(resource, batches, "gx", now)


# ---------------------------------------------------------------- the header (column-set) rule

def header_verdicts(resource, columns: list[str], engine: str) -> tuple:  # noqa: ANN001
    """What one engine decides for a delivery's raw column names: evaluations and batch errors."""
    r = SuiteCheck(suite_of(resource), resource, engine=engine).begin(columns)
    return sorted((e.check, e.column, e.severity, e.evaluated, e.failed, e.level) for e in r.evaluations), r.batch_errors


@pytest.mark.parametrize("resource", REGISTRY.resources, ids=lambda r: r.key)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_native_column_set_rule_gives_gx_verdicts(resource, data: st.DataObject) -> None:  # noqa: ANN001
    """Headers with fields dropped, added (also data-like names), repeated or case-changed: the
    native rule (no GX import on the real-time path) and GX give the same verdicts and texts."""
    fields = [f.name for f in resource.fields]
    columns = data.draw(st.lists(st.sampled_from(fields), unique=True))
    extra = data.draw(st.lists(st.sampled_from(["extra", "Meter_ID", "张三", "370000199001011234", " ", fields[0].upper()]),
                               max_size=3))
    columns = data.draw(st.permutations(columns + extra))
    assert header_verdicts(resource, columns, "arrow") == header_verdicts(resource, columns, "gx")


def test_the_shipped_suites_load_without_importing_gx() -> None:
    """The real-time path: a fresh process checks a delivery of every resource without GX."""
    import subprocess
    import sys

    code = ("import sys, pyarrow as pa\n"
            "from citydata.registry import load_registry\n"
            "from citydata.ingest.coerce import coerce_batch\n"
            "from citydata.quality.suites import checks_for, needs_gx, suite_for, warm\n"
            "from citydata.quality.checks import run_checks\n"
            "for res in load_registry().resources:\n"
            "    warm(res)\n"
            "    assert not needs_gx(suite_for(res), res), res.key\n"
            "    cols = [f.name for f in res.fields]\n"
            "    checks = checks_for(res)\n"
            "    checks[-1].begin(cols)\n"
            "    b = pa.RecordBatch.from_pydict({c: pa.array(['1'], pa.string()) for c in cols})\n"
            "    run_checks(checks, coerce_batch(b, res), res)\n"
            "print('great_expectations' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "False", out.stderr[-2000:]


def test_a_rule_gx_must_run_imports_gx_and_judges_the_suite_first(tmp_path: Path) -> None:
    """A rule kind the Arrow rules do not cover: needs_gx says so, and warm() judges the suite."""
    import json

    from citydata.quality.suites import SuiteError, needs_gx

    resource = REGISTRY.resource("water", "meter_readings")
    doc = json.loads((REPO / "expectations" / "water.meter_readings.json").read_text(encoding="utf-8"))
    doc["expectations"].append({"type": "expect_column_mean_to_be_between", "kwargs": {"column": "reading_m3",
                                "min_value": "zero"}, "meta": {"severity": "warning"}})
    path = tmp_path / "water.meter_readings.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    suite = load_suite(path, resource, judge=False)
    assert needs_gx(suite, resource)
    with pytest.raises(SuiteError, match=r"water\.meter_readings\.json: expectation #\d+ \(expect_column_mean"):
        suite.judge()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(["SW0100000001", "SW01", "sw0100000001", "SW0100000001\n", "界湖",
                                                      "SW01０００００００1", ""]), st.text(max_size=4)), max_size=40),
       st.sampled_from([r"^SW\d{10}$", r"\d", r"^(?!x)SW"]))
def test_match_regex_rows_are_those_re_rejects(values: list[str | None], regex: str) -> None:
    """Whether values repeat (each distinct one matched once) or not, and for patterns RE2 cannot run."""
    import re

    rule = compile_rule("expect_column_values_to_match_regex", {"column": "c", "regex": regex}, {},
                        pa.schema([("c", pa.string())]))
    got = rule(pa.table({"c": pa.array(values, pa.string())})).tolist()
    assert got == [i for i, v in enumerate(values) if v is not None and re.search(regex, v) is None]
