"""Expectation suites: one per resource, loaded and checked up front, run through GX 1.24 per batch."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pytest

from citydata.domain.ids import citizen_id_check_digit
from citydata.errors import CitydataError
from citydata.ingest.coerce import coerce_batch
from citydata.quality.checks import begin_delivery, finish_delivery, run_checks
from citydata.quality.suites import SuiteError, checks_for, load_suite, suite_path
from citydata.registry import load_registry

REPO = Path(__file__).resolve().parents[2]
REGISTRY = load_registry(REPO / "include" / "departments.yaml")


def _batch(rows: list[dict]) -> pa.RecordBatch:
    cols = sorted({k for r in rows for k in r})
    return pa.RecordBatch.from_pydict({c: pa.array([None if r.get(c) is None else str(r[c]) for r in rows], pa.string())
                                       for c in cols})


def valid_rows(key: str, n: int) -> list[dict]:
    """Clean rows from the mock departments (so the tests follow the shared vocabulary)."""
    from citydata.mock.generators import render, rows_for

    return render(rows_for(key, n, 11, dt.datetime.now(dt.UTC)), "json")


def _now(minutes: int = 0) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes)).isoformat(timespec="seconds")


@pytest.mark.parametrize("resource", REGISTRY.resources, ids=lambda r: r.key)
def test_every_resource_has_a_valid_suite_with_severities(resource) -> None:  # noqa: ANN001
    path = REPO / "expectations" / f"{resource.key}.json"
    suite = load_suite(path, resource)
    assert {r.severity for r in suite.rules} <= {"error", "warning"}
    checks = {r.check for r in suite.rules}
    assert f"future:{resource.event_time}" in checks and f"late:{resource.event_time}" in checks
    assert any(c.startswith("unique:") for c in checks) and "columns:exact" in checks
    assert {"row_count:min", "row_count:max"} <= checks
    for f in resource.required_fields:
        assert f"not_null:{f}" in checks
    # Vocabularies come from the shared source (citydata.domain.vocab), never pasted into the suite.
    doc = json.loads(path.read_text(encoding="utf-8"))
    for e in doc["expectations"]:
        if e["type"] == "expect_column_values_to_be_in_set":
            assert "$PARAMETER" in e["kwargs"]["value_set"], e


def test_suite_parameters_resolve_to_the_mock_vocabulary() -> None:
    from citydata.domain import vocab
    from citydata.domain.townships import NAMES

    suite = load_suite(REPO / "expectations" / "water.meter_readings.json")
    params = suite.parameters()
    assert params["townships"] == list(NAMES) and len(NAMES) == 17
    assert params["water__meter_readings__read_method__values"] == list(vocab.READ_METHOD.values)
    assert params["event_time_max"] - params["event_time_min"] == vocab.LATE_AFTER["water.meter_readings"] + vocab.FUTURE_AFTER


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "not valid JSON"),
    ('{"name": "x"}', "'expectations' list"),
    ('{"name": "x", "expectations": [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "meter_id"}}]}',
     "meta.severity"),
    ('{"name": "x", "expectations": [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "nope"},'
     ' "meta": {"severity": "error"}}]}', "not fields of water.meter_readings"),
    ('{"name": "x", "expectations": [{"type": "expect_no_such_thing", "kwargs": {}, "meta": {"severity": "error"}}]}',
     "expectation #1 (expect_no_such_thing)"),
    ('{"name": "x", "expectations": [{"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "district",'
     ' "value_set": {"$PARAMETER": "no_such_vocab"}}, "meta": {"severity": "error"}}]}', "unknown $PARAMETER"),
    ('{"name": "x", "expectations": [{"type": "expect_column_values_to_be_between", "kwargs": {"column": "reading_m3",'
     ' "min_value": "zero", "max_value": []}, "meta": {"severity": "warning"}}]}', "expectation #1"),
])
def test_malformed_suite_fails_naming_the_file(tmp_path: Path, content: str, message: str) -> None:
    res = REGISTRY.resource("water", "meter_readings")
    path = tmp_path / "water.meter_readings.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SuiteError) as err:
        load_suite(path, res)
    assert str(path) in str(err.value) and message in str(err.value)
    assert "\n" not in str(err.value)


def test_a_malformed_suite_stops_ingestion_with_the_file_named(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from citydata.ingest.pipeline import ingest_department
    from tests.helpers import drop

    suites = home / "suites"
    suites.mkdir()
    (suites / "water.meter_readings.json").write_text('{"expectations": [', encoding="utf-8")
    monkeypatch.setenv("CITYDATA_EXPECTATIONS_DIR", str(suites))
    landed = drop("water", "meter_readings", "r.csv", valid_rows("water.meter_readings", 3))
    with pytest.raises(CitydataError, match=r"water\.meter_readings\.json: not valid JSON"):
        ingest_department("water")
    assert landed.exists()  # not rejected, not lost: waits for the suite to be fixed


def test_citizen_id_expectation_checks_check_digit_and_birth_date() -> None:
    res = REGISTRY.resource("health", "card_visits")
    good = "37132119850615002" + citizen_id_check_digit("37132119850615002")
    wrong_digit = good[:17] + ("0" if good[17] != "0" else "1")
    first17 = "37132120991301002"  # month 13
    bad_date = first17 + citizen_id_check_digit(first17)
    rows = valid_rows("health.card_visits", 4)
    for row, cid in zip(rows, [good, wrong_digit, bad_date, good.lower()], strict=True):
        row["citizen_id"] = cid
    checks = checks_for(res)
    result = run_checks(checks, coerce_batch(_batch(rows), res), res)
    failed = {f.check: f.rows.tolist() for f in result.failures}
    assert failed == {"idcard:citizen_id": [1, 2]}  # lower-case x is accepted as the check character


def test_warning_keeps_the_row_error_quarantines_it() -> None:
    res = REGISTRY.resource("parking", "sessions")
    rows = valid_rows("parking.sessions", 4)
    rows[0]["plate_no"] = "鲁QA1234"
    rows[1]["plate_no"] = "京A12345"  # legal, not local: warning
    rows[2]["plate_no"] = "鲁Q12"  # malformed: error
    rows[3]["plate_no"] = "鲁QB5678"  # the generator picks ~6 % non-local plates; keep this row local
    rows[3]["entry_time"], rows[3]["exit_time"] = _now(30), _now(90)  # exit before entry: error
    checks = checks_for(res)
    result = run_checks(checks, coerce_batch(_batch(rows), res), res)
    by_check = {(f.check, f.severity): f.rows.tolist() for f in result.failures}
    assert by_check[("linyi:plate_no", "warning")] == [1]
    assert by_check[("format:plate_no", "error")] == [2]
    assert by_check[("order:exit_time", "error")] == [3]
    assert result.error_mask(4).tolist() == [False, False, True, True]
    evaluated = {e.check: (e.evaluated, e.failed) for e in result.evaluations}
    assert evaluated["linyi:plate_no"] == (4, 1) and evaluated["range:fee_yuan"] == (4, 0)


def test_identical_duplicates_are_not_key_conflicts_but_differing_versions_are() -> None:
    res = REGISTRY.resource("water", "meter_readings")
    t = _now(30)
    a, b = valid_rows("water.meter_readings", 2)
    a["reading_time"] = b["reading_time"] = t
    rows = [a, dict(a), b, {**b, "reading_m3": float(b["reading_m3"]) + 1}]
    checks = checks_for(res)
    result = run_checks(checks, coerce_batch(_batch(rows), res), res)
    assert {f.check: f.rows.tolist() for f in result.failures} == {"unique:meter_id+reading_time": [2, 3]}


def test_key_conflict_across_batches_of_one_delivery() -> None:
    res = REGISTRY.resource("water", "meter_readings")
    [row] = valid_rows("water.meter_readings", 1)
    checks = checks_for(res)
    first = run_checks(checks, coerce_batch(_batch([row]), res), res)
    same = run_checks(checks, coerce_batch(_batch([dict(row)]), res), res)
    other = run_checks(checks, coerce_batch(_batch([{**row, "reading_m3": float(row["reading_m3"]) + 2}]), res), res)
    assert not first.failures and not same.failures
    assert [(f.check, f.rows.tolist()) for f in other.failures] == [("unique:meter_id+reading_time", [0])]


def test_header_and_row_count_rules_are_delivery_level() -> None:
    res = REGISTRY.resource("water", "meter_readings")
    checks = checks_for(res)
    fields = [f.name for f in res.fields]
    assert begin_delivery(checks, fields).batch_errors == []
    extra = begin_delivery(checks_for(res), [*fields, "remark"])
    assert extra.batch_errors == []  # unknown columns are ignored and reported, not a rejection
    assert [(e.check, e.failed, e.severity) for e in extra.evaluations if e.check == "columns:exact"] == [
        ("columns:exact", 1, "warning")]
    missing = begin_delivery(checks_for(res), [f for f in fields if f != "meter_id"]).batch_errors
    assert len(missing) == 1 and "columns:required" in missing[0]
    empty = finish_delivery(checks, 0)
    assert empty.batch_errors == []  # an empty delivery is a warning, not a rejection
    assert [(e.check, e.failed, e.severity) for e in empty.evaluations if e.check == "row_count:min"] == [
        ("row_count:min", 1, "warning")]
    assert "row_count:max" in finish_delivery(checks, 5_000_001).batch_errors[0]


def test_suite_path_follows_the_expectations_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    res = REGISTRY.resource("gas", "meters")
    monkeypatch.setenv("CITYDATA_EXPECTATIONS_DIR", str(tmp_path))
    assert suite_path(res) == tmp_path / "gas.meters.json"


def test_a_resource_without_suite_gets_the_built_in_checks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from citydata.quality.checks import basic_checks

    monkeypatch.setenv("CITYDATA_EXPECTATIONS_DIR", str(tmp_path))
    assert checks_for(REGISTRY.resource("gas", "meters")) == [basic_checks]


@pytest.mark.parametrize("resource", REGISTRY.resources, ids=lambda r: r.key)
def test_every_vocabulary_rule_is_checked_by_the_suite(resource) -> None:  # noqa: ANN001
    """A rule added to citydata.domain.vocab (what the generator obeys) must appear in the suite."""
    from citydata.domain import vocab
    from citydata.quality.vocab import parameter_name

    text = (REPO / "expectations" / f"{resource.key}.json").read_text(encoding="utf-8")
    for column, rule in vocab.rules(resource.key).items():
        if isinstance(rule, vocab.Pattern) and rule.check == "citizen_id":
            assert "expect_column_values_to_be_valid_citizen_id" in text
        elif isinstance(rule, vocab.Enum):
            assert f'"{parameter_name(resource.key, column, "values")}"' in text or column == "district", column
        elif isinstance(rule, vocab.Pattern):
            assert f'"{parameter_name(resource.key, column, "regex")}"' in text, column
        else:
            for bound in ("min", "max"):
                if getattr(rule, bound) is not None:
                    assert f'"{parameter_name(resource.key, column, bound)}"' in text, (column, bound)
            if rule.max_column:
                assert f'"column_A": "{rule.max_column}"' in text
