"""Run a resource's Great Expectations suite (expectations/<department>.<resource>.json) as a check.

GX 1.24 runs inside our own code (the Airflow GX provider conflicts with Airflow 3.3.2):
the suite is loaded and checked once per process, each Arrow batch is validated through an
ephemeral pandas context, and GX's per-row results (``unexpected_index_list``) become
``Failure``s. ``import great_expectations`` costs ~2 s, so it happens lazily, once.

Where an expectation is evaluated depends on what it is about:
- column-set expectations judge the delivery's header (the raw column names);
- row-count expectations judge the whole delivery (a file arrives as many batches);
- everything else runs per batch on the typed rows; per-row results quarantine rows
  (severity error) or are reported (warning); other batch-level results reject the file.

Suites may reference the shared vocabularies (citydata.quality.vocab) and the event-time
window as suite parameters: ``{"$PARAMETER": "townships"}``, ``event_time_max`` (now + clock
skew) and ``event_time_min`` (now − max event age), configured in the suite's
``meta.citydata`` (``clock_skew_minutes``, ``max_event_age_days``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from citydata.config import settings
from citydata.domain.masking import safe_token, safe_tokens
from citydata.domain.vocab import FUTURE_AFTER, LATE_AFTER
from citydata.errors import CitydataError
from citydata.ingest.coerce import Coerced
from citydata.quality.checks import BatchResult, Check, Evaluation, Failure, basic_checks
from citydata.quality.key_history import KeyHistory
from citydata.quality.row_hashes import key_and_row_hashes
from citydata.quality.vocab import suite_parameters
from citydata.registry import Resource

log = logging.getLogger(__name__)

SEVERITIES = ("error", "warning")
HEADER_TYPES = frozenset({
    "expect_table_columns_to_match_set", "expect_table_columns_to_match_ordered_list",
    "expect_table_column_count_to_equal", "expect_table_column_count_to_be_between", "expect_column_to_exist",
})
DELIVERY_TYPES = frozenset({"expect_table_row_count_to_be_between", "expect_table_row_count_to_equal"})
UNIQUE_TYPES = frozenset({"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique",
                          "expect_multicolumn_values_to_be_unique"})
DEFAULT_MAX_AGE_DAYS = 36500.0  # resources without a lateness rule (registries): only absurd dates
RESULT_FORMAT = {"result_format": "COMPLETE", "partial_unexpected_count": 0, "include_unexpected_rows": False,
                 "return_unexpected_index_query": False}


class SuiteError(CitydataError):
    """A suite file is malformed; the message names the file (and the expectation)."""


@dataclass(frozen=True)
class Rule:
    """One expectation of a suite, as our pipeline uses it."""

    index: int
    type: str
    kwargs: dict
    check: str
    columns: tuple[str, ...]
    severity: str
    description: str
    description_zh: str
    scope: str  # header / delivery / batch
    report_column: str | None = None  # meta.column: the column a multi-column rule blames

    @property
    def column(self) -> str | None:
        if self.report_column:
            return self.report_column
        return ",".join(self.columns) if self.columns else None


@dataclass
class Suite:
    """A loaded, checked suite: the rules plus the GX suite of the per-batch ones."""

    path: Path
    name: str
    rules: list[Rule]
    clock_skew_minutes: float | None = None  # None: the shared vocabulary's FUTURE_AFTER
    max_event_age_days: float | None = None  # None: the vocabulary's LATE_AFTER for the resource
    judged: bool = False  # GX has checked every expectation's kwargs (Suite.judge)
    _gx: dict[str, Any] = field(default_factory=dict, repr=False)

    def scoped(self, scope: str) -> list[Rule]:
        return [r for r in self.rules if r.scope == scope]

    def parameters(self, now: dt.datetime | None = None) -> dict[str, object]:
        now = now or dt.datetime.now(dt.UTC)
        skew = dt.timedelta(minutes=self.clock_skew_minutes) if self.clock_skew_minutes is not None else FUTURE_AFTER
        if self.max_event_age_days is not None:
            age = dt.timedelta(days=self.max_event_age_days)
        else:
            age = LATE_AFTER.get(self.name, dt.timedelta(days=DEFAULT_MAX_AGE_DAYS))
        return {**suite_parameters(), "event_time_max": now + skew, "event_time_min": now - age}

    def judge(self) -> None:
        """Let GX judge each expectation's kwargs, so a bad one names itself and the file (SuiteError).

        Imports GX (seconds per process): ``load_suite`` judges at once, the ingest path only when
        a delivery's checks call into GX at all (``needs_gx``), and always before GX runs a rule.
        """
        if self.judged:
            return
        for scope in ("header", "batch"):
            try:
                self._build(scope, self.scoped(scope))
            except Exception as exc:  # noqa: BLE001 — GX raises many kinds; the user gets one line
                bad = _first_invalid(self.scoped(scope))
                label = f"expectation #{bad.index + 1} ({bad.type})" if bad else "suite"
                msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise SuiteError(f"{self.path}: {label}: {msg}") from None
        self.judged = True

    def gx_suite(self, scope: str, rules: list[Rule] | None = None) -> Any:
        """The GX ExpectationSuite of one scope (or of just ``rules`` of it), built once."""
        self.judge()
        return self._build(scope, self.scoped(scope) if rules is None else rules)

    def _build(self, scope: str, rules: list[Rule]) -> Any:
        key = f"{scope}:{','.join(str(r.index) for r in rules)}"
        if key not in self._gx:
            gx = _gx_module()
            from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

            exps = [ExpectationConfiguration(type=r.type, kwargs=r.kwargs, meta={"rule": r.index}).to_domain_obj()
                    for r in rules]
            self._gx[key] = gx.ExpectationSuite(name=f"{self.name}.{scope}", expectations=exps)
        return self._gx[key]


# ---------------------------------------------------------------- GX, once per process

_LOCK = threading.Lock()
_VALIDATE_LOCK = threading.Lock()
_STATE: dict[str, Any] = {}


def _gx_module() -> Any:
    if "gx" not in _STATE:
        with _LOCK:
            if "gx" not in _STATE:
                os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
                import great_expectations as gx

                import citydata.quality.gx_expectations  # noqa: F401 — registers our custom expectations

                _STATE["gx"] = gx
    return _STATE["gx"]


def warm(resource: Resource) -> None:
    """Import GX and build its context now if the resource's checks will need it (seconds; far more
    on a starved machine), e.g. before a write transaction opens: on SQLite the whole warehouse is
    locked while one is open. A malformed suite fails here (SuiteError naming the file)."""
    suite = suite_for(resource)
    if suite is not None and needs_gx(suite, resource):
        suite.judge()
        _batch_definition()


def _batch_definition() -> Any:
    """An ephemeral context with one pandas dataframe asset; batches are passed per call."""
    if "bd" not in _STATE:
        gx = _gx_module()
        with _LOCK:
            if "bd" not in _STATE:
                from great_expectations.data_context.types.base import (
                    DataContextConfig,
                    InMemoryStoreBackendDefaults,
                    ProgressBarsConfig,
                )

                config = DataContextConfig(store_backend_defaults=InMemoryStoreBackendDefaults(),
                                           progress_bars=ProgressBarsConfig(globally=False),
                                           analytics_enabled=False)
                ctx = gx.get_context(mode="ephemeral", project_config=config)
                asset = ctx.data_sources.add_pandas("citydata").add_dataframe_asset("batch")
                _STATE["bd"] = asset.add_batch_definition_whole_dataframe("whole")
    return _STATE["bd"]


def validate_frame(suite: Any, df: Any, parameters: dict[str, object]) -> Any:
    """Validate a pandas DataFrame against a GX suite; returns GX's validation result."""
    import warnings

    from great_expectations.validator.v1_validator import Validator

    bd = _batch_definition()
    with _VALIDATE_LOCK, warnings.catch_warnings():  # one shared GX context: one validation at a time
        # GX's pandas regex metric uses str.contains; our anchored patterns have groups on purpose.
        warnings.filterwarnings("ignore", message="This pattern is interpreted as a regular expression")
        # What Batch.validate does, without first building a Batch of its own: each batch
        # build fingerprints the whole frame (≈ 0.15 s per 500,000 rows).
        validator = Validator(batch_definition=bd, batch_parameters={"dataframe": df}, result_format=RESULT_FORMAT)
        return validator.validate_expectation_suite(suite, expectation_parameters=parameters)


# ---------------------------------------------------------------- loading

def suite_path(resource: Resource, directory: Path | None = None) -> Path:
    if directory is None:
        directory = expectations_dir()
    return Path(directory) / f"{resource.key}.json"


def expectations_dir() -> Path:
    """CITYDATA_EXPECTATIONS_DIR, else expectations/ beside (or above) the registry file."""
    cfg = settings()
    if cfg.expectations_dir:
        return cfg.expectations_dir
    base = cfg.registry_path.parent
    for candidate in (base / "expectations", base.parent / "expectations"):
        if candidate.is_dir():
            return candidate
    return base / "expectations"


def _columns_of(kwargs: dict) -> tuple[str, ...]:
    if "column" in kwargs:
        return (str(kwargs["column"]),)
    if "column_A" in kwargs:
        return (str(kwargs["column_A"]), str(kwargs["column_B"]))
    if "column_list" in kwargs:
        return tuple(str(c) for c in kwargs["column_list"])
    return ()


def _rule(i: int, exp: object, resource: Resource | None, where: str) -> Rule:
    if not isinstance(exp, dict):
        raise SuiteError(f"{where}: expectation #{i + 1}: expected an object")
    etype, kwargs, meta = exp.get("type"), exp.get("kwargs", {}), exp.get("meta") or {}
    label = f"{where}: expectation #{i + 1} ({etype})"
    if not isinstance(etype, str) or not etype.startswith("expect_"):
        raise SuiteError(f"{where}: expectation #{i + 1}: 'type' must name an expectation, got {etype!r}")
    if not isinstance(kwargs, dict) or not isinstance(meta, dict):
        raise SuiteError(f"{label}: 'kwargs' and 'meta' must be objects")
    severity = meta.get("severity")
    if severity not in SEVERITIES:
        raise SuiteError(f"{label}: meta.severity must be 'error' or 'warning', got {severity!r}")
    columns = _columns_of(kwargs)
    if resource is not None:
        known = {f.name for f in resource.fields}
        unknown = [c for c in columns if c not in known]
        if unknown:
            raise SuiteError(f"{label}: column(s) {unknown} are not fields of {resource.key} in the registry")
    scope = "header" if etype in HEADER_TYPES else "delivery" if etype in DELIVERY_TYPES else "batch"
    if etype in DELIVERY_TYPES and "min_value" not in kwargs and "max_value" not in kwargs and "value" not in kwargs:
        raise SuiteError(f"{label}: needs min_value/max_value (or value)")
    check = str(meta.get("check") or (f"{etype}:{','.join(columns)}" if columns else etype))
    blamed = meta.get("column")
    if blamed is not None and blamed not in columns:
        raise SuiteError(f"{label}: meta.column {blamed!r} is not one of the expectation's columns {list(columns)}")
    return Rule(i, etype, kwargs, check, columns, severity, str(meta.get("description") or etype),
                str(meta.get("description_zh") or meta.get("description") or etype), scope, blamed)


def load_suite(path: Path, resource: Resource | None = None, *, judge: bool = True) -> Suite:
    """Read and check a suite file; any problem is one SuiteError naming the file.

    ``judge=False`` leaves GX's judgement of the kwargs (Suite.judge) until GX is first needed.
    """
    where = str(path)
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SuiteError(f"cannot read suite {where}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise SuiteError(f"{where}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("expectations"), list):
        raise SuiteError(f"{where}: expected a GX ExpectationSuite object with an 'expectations' list")
    rules = [_rule(i, e, resource, where) for i, e in enumerate(doc["expectations"])]
    cfg = (doc.get("meta") or {}).get("citydata") or {}
    try:
        skew, age = cfg.get("clock_skew_minutes"), cfg.get("max_event_age_days")
        suite = Suite(Path(path), str(doc.get("name") or Path(path).stem), rules,
                      None if skew is None else float(skew), None if age is None else float(age))
    except (TypeError, ValueError, AttributeError):
        raise SuiteError(f"{where}: meta.citydata clock_skew_minutes / max_event_age_days must be numbers") from None
    known = suite.parameters()
    for r in rules:
        for name in _parameter_refs(r.kwargs):
            if name not in known:
                raise SuiteError(f"{where}: expectation #{r.index + 1} ({r.type}): unknown $PARAMETER {name!r} "
                                 "(not in citydata.quality.vocab.suite_parameters nor event_time_min/max)")
    if judge:
        suite.judge()
    return suite


def _parameter_refs(value: object) -> list[str]:
    if isinstance(value, dict):
        if "$PARAMETER" in value:
            return [str(value["$PARAMETER"])]
        return [n for v in value.values() for n in _parameter_refs(v)]
    if isinstance(value, list):
        return [n for v in value for n in _parameter_refs(v)]
    return []


def _first_invalid(rules: list[Rule]) -> Rule | None:
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    for r in rules:
        try:
            ExpectationConfiguration(type=r.type, kwargs=r.kwargs).to_domain_obj()
        except Exception:  # noqa: BLE001
            return r
    return None


_SUITES: dict[tuple[str, float], Suite] = {}


def suite_for(resource: Resource, directory: Path | None = None) -> Suite | None:
    """The resource's suite (cached per process and file version), or None if it has none."""
    path = suite_path(resource, directory)
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        log.warning("no expectation suite for %s (%s): only type and required checks run", resource.key, path)
        return None
    key = (str(path), mtime)
    if key not in _SUITES:
        _SUITES[key] = load_suite(path, resource, judge=False)  # judged when GX is first needed (warm)
    return _SUITES[key]


def row_rules_engine() -> str:
    """CITYDATA_ROW_RULES: "arrow" (default: the suites' row rules compiled to Arrow) or "gx" (the reference)."""
    return os.environ.get("CITYDATA_ROW_RULES", "arrow")


def needs_gx(suite: Suite, resource: Resource, engine: str | None = None) -> bool:
    """Whether checking a delivery of ``resource`` calls into GX at all.

    Importing GX costs seconds in every fresh task process: on the real-time path it is paid
    only for a rule kind the Arrow rules and the native header rule do not cover (or under
    CITYDATA_ROW_RULES=gx, the reference engine).
    """
    from citydata.ingest.coerce import ARROW_TYPES
    from citydata.quality.arrow_rules import compile_rule

    if (engine or row_rules_engine()) != "arrow":
        return True
    if not all(native_header(r) for r in suite.scoped("header")):
        return True
    import pyarrow as pa

    schema = pa.schema([pa.field(f.name, ARROW_TYPES[f.type]) for f in resource.fields])
    params = suite.parameters()
    return any(compile_rule(r.type, r.kwargs, params, schema) is None for r in suite.scoped("batch"))


def native_header(rule: Rule) -> bool:
    """The column-set rule with the kwargs GX gives it is judged here, without GX."""
    k = rule.kwargs
    return (rule.type == "expect_table_columns_to_match_set" and set(k) <= {"column_set", "exact_match"}
            and isinstance(k.get("column_set"), list) and all(isinstance(c, str) for c in k["column_set"])
            and isinstance(k.get("exact_match", True), bool))


@dataclass(frozen=True)
class HeaderResult:
    """What SuiteCheck reads of a GX validation result (success, result), for a native header rule."""

    success: bool
    result: dict


def columns_match_set(kwargs: dict, columns: list[str]) -> HeaderResult:
    """GX 1.24's expect_table_columns_to_match_set on a pandas frame (its _validate_result), natively."""
    expected, actual = set(kwargs["column_set"]), {str(c) for c in columns}
    observed = sorted(actual)
    unexpected, missing = sorted(actual - expected), sorted(expected - actual)
    if not unexpected and not missing:
        return HeaderResult(True, {"observed_value": observed})
    mismatched = {k: v for k, v in (("unexpected", unexpected), ("missing", missing)) if v}
    success = not kwargs.get("exact_match", True) and not missing
    return HeaderResult(success, {"observed_value": observed, "details": {"mismatched": mismatched}})


# ---------------------------------------------------------------- running

def _index_rows(result: Any, n: int) -> np.ndarray | None:
    idx = (result.result or {}).get("unexpected_index_list")
    if idx is None:
        return None
    rows = np.asarray([i if isinstance(i, int | np.integer) else i.get("index", -1) for i in idx], dtype=np.int64)
    return np.unique(rows[(rows >= 0) & (rows < n)])


def _observed(result: Any) -> str:
    r = result.result or {}
    details = r.get("details") or {}
    # Observed values are delivered content: quoted only when their shape cannot be personal
    # (numbers, identifier-like names); a header that is really a data row stays unquoted.
    if "mismatched" in details:
        m = details["mismatched"]
        return f"unexpected columns: {safe_tokens(m.get('unexpected') or [])}; missing: {safe_tokens(m.get('missing') or [])}"
    value = r.get("observed_value")
    if isinstance(value, bool | int | float | dt.date) or value is None or (
            isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}([T ][0-9:.+\-Z]*)?", value)):
        return f"observed {value!r}"
    if isinstance(value, list | tuple):
        return f"observed {safe_tokens(value)}"
    return f"observed {safe_token(value)!r}" if safe_token(value) else "observed value not shown (may be data)"


def _paired(rules: list[Rule], validation: Any) -> list[tuple[Rule, Any]]:
    """Match GX results (not necessarily in suite order) to our rules by the index in their meta."""
    by_index = {r.index: r for r in rules}
    pairs = [(by_index[res.expectation_config.meta["rule"]], res) for res in validation.results]
    if len(pairs) != len(rules):
        raise CitydataError(f"GX returned {len(pairs)} results for {len(rules)} expectations")
    return sorted(pairs, key=lambda p: p[0].index)


class _Frame:
    """The batch as a pandas DataFrame, converted on first use only (GX and the key checks need it)."""

    def __init__(self, table: Any) -> None:
        self.table, self._df = table, None

    @property
    def df(self) -> Any:
        if self._df is None:
            self._df = self.table.to_pandas()
        return self._df


class SuiteCheck:
    """A check (``Check`` interface) backed by a GX suite; one instance per delivery."""

    def __init__(self, suite: Suite, resource: Resource, now: dt.datetime | None = None,
                 engine: str | None = None) -> None:
        self.suite, self.resource = suite, resource
        self.params = suite.parameters(now)
        # "arrow": row-level rules as Arrow compute compiled from the suite (arrow_rules), the
        # rest through GX; "gx": every rule through GX (CITYDATA_ROW_RULES=gx, the reference).
        self.engine = engine or row_rules_engine()
        if self.engine not in ("arrow", "gx"):
            raise CitydataError(f"CITYDATA_ROW_RULES must be 'arrow' or 'gx', got {self.engine!r}")
        self._compiled: dict[int, Any] | None = None  # rule index -> Arrow evaluator
        self.batches = 0
        self._unhashed: _Frame | None = None  # the first batch, hashed only if a second one comes
        self._history = KeyHistory()  # key/row hashes of earlier batches, for cross-batch duplicates
        self._key_rule = any(r.type in UNIQUE_TYPES and set(r.columns) == set(resource.primary_key)
                             for r in suite.scoped("batch"))
        self._keys_seen = 0  # rows whose primary key another row of the delivery also has (any version)
        self._keys_checked = 0  # batches whose keys GX judged row by row
        self._calls_gx: bool | None = None

    def calls_gx(self) -> bool:
        """Whether this delivery's checks call into GX (whose per-call cost wants big batches)."""
        if self._calls_gx is None:
            self._calls_gx = needs_gx(self.suite, self.resource, self.engine)
        return self._calls_gx

    def keys_unique(self) -> bool:
        """True when no primary key occurs twice in the delivery (so the loader need not de-duplicate).

        Only a suite with a uniqueness rule on exactly the primary key can vouch for that; it
        counts identical copies too (GX flags every row of a repeated key, before we keep only
        conflicting versions as errors). A hash collision across batches errs on the safe side.
        """
        return self._key_rule and self._keys_checked == self.batches and self._keys_seen == 0

    # Called once with the delivery's raw column names.
    def begin(self, columns: list[str]) -> BatchResult:
        out = BatchResult()
        rules = self.suite.scoped("header")
        results: dict[int, Any] = {r.index: columns_match_set(r.kwargs, columns) for r in rules
                                   if self.engine == "arrow" and native_header(r)}
        rest = [r for r in rules if r.index not in results]
        if rest:
            import pandas as pd

            res = validate_frame(self.suite.gx_suite("header", rest), pd.DataFrame(columns=list(columns)), self.params)
            results.update({rule.index: r for rule, r in _paired(rest, res)})
        for rule in rules:
            self._batch_level(out, rule, results[rule.index], 1)
        return out

    def finish(self, rows_read: int) -> BatchResult:
        """Delivery-level rules (row count) on the whole delivery."""
        out = BatchResult()
        for rule in self.suite.scoped("delivery"):
            k = rule.kwargs
            if "value" in k:
                ok, want = rows_read == int(k["value"]), f"exactly {k['value']}"
            else:
                lo, hi = k.get("min_value"), k.get("max_value")
                ok = (lo is None or rows_read >= lo) and (hi is None or rows_read <= hi)
                want = f"between {lo if lo is not None else '-inf'} and {hi if hi is not None else 'inf'}"
            out.evaluations.append(Evaluation(rule.check, None, rule.severity, 1, 0 if ok else 1, "delivery",
                                              rule.description))
            if not ok and rule.severity == "error":
                out.batch_errors.append(f"{rule.check}: {rows_read} rows, expected {want}")
        return out

    def _batch_level(self, out: BatchResult, rule: Rule, r: Any, evaluated: int) -> None:
        failed = not r.success
        out.evaluations.append(Evaluation(rule.check, rule.column, rule.severity, evaluated, int(failed),
                                          rule.scope, rule.description))
        if failed and rule.severity == "error":
            out.batch_errors.append(f"{rule.check}: {rule.description} ({_observed(r)})")

    def __call__(self, coerced: Coerced, resource: Resource) -> BatchResult:
        out = BatchResult()
        rules = self.suite.scoped("batch")
        n = coerced.table.num_rows
        if not rules or n == 0:
            return out
        frame = _Frame(coerced.table)
        compiled = self._row_rules(coerced.table.schema, rules)
        gx_rules = [r for r in rules if r.index not in compiled]
        results: dict[int, Any] = {}
        if gx_rules:
            res = validate_frame(self.suite.gx_suite("batch", gx_rules), frame.df, self.params)
            results = {rule.index: r for rule, r in _paired(gx_rules, res)}
        invalid = np.zeros(n, dtype=bool)
        for mask in coerced.invalid.values():
            invalid |= mask.to_numpy(zero_copy_only=False)
        required = set(resource.required_fields)
        keys_checked = 0
        for rule in rules:
            if rule.index in compiled:
                rows = compiled[rule.index](coerced.table)
            else:
                r = results[rule.index]
                if r.exception_info and r.exception_info.get("raised_exception"):
                    raise CitydataError(f"{self.suite.path}: expectation #{rule.index + 1} ({rule.type}) failed to run: "
                                        f"{(r.exception_info.get('exception_message') or '').splitlines()[0]}")
                rows = _index_rows(r, n)
            if rows is None:  # an aggregate over the batch
                self._batch_level(out, rule, r, n)
                continue
            if rule.type == "expect_column_values_to_not_be_null":
                rows = rows[~invalid[rows]]  # unparseable values are already type errors
            if rule.type in UNIQUE_TYPES:
                if set(rule.columns) == set(resource.primary_key):
                    self._keys_seen += int(rows.size)
                    keys_checked = 1
                rows = self._conflicting(frame.df if rows.size else None, rows)
            out.evaluations.append(Evaluation(rule.check, rule.column, rule.severity, n, int(rows.size), "row",
                                              rule.description))
            if rule.type == "expect_column_values_to_not_be_null" and set(rule.columns) <= required:
                continue  # reported by the built-in required check; don't list the same problem twice
            if rows.size:
                out.failures.append(Failure(rule.check, rule.column, rule.severity, rows, n, rule.description))
        self._cross_batch(frame, out, rules)
        self.batches += 1
        self._keys_checked += keys_checked
        return out

    def _conflicting(self, df: Any, rows: np.ndarray) -> np.ndarray:
        """Of rows sharing a key, keep only those whose key has differing versions.

        Identical copies of a row are duplicates the loader counts (rows_duplicate); only
        conflicting versions of one key are a data error.
        """
        if rows.size == 0:
            return rows
        key = list(self.resource.primary_key)
        sub = df.iloc[rows]
        versions = sub.drop_duplicates().groupby(key, dropna=False, sort=False).size()
        conflict = versions[versions > 1].index
        keyed = sub.set_index(key).index
        return rows[np.asarray(keyed.isin(conflict), dtype=bool)]

    def _row_rules(self, schema: Any, rules: list[Rule]) -> dict[int, Any]:
        """The rules evaluated as Arrow compute (compiled once per delivery); GX runs the others."""
        if self._compiled is None:
            from citydata.quality.arrow_rules import compile_rule

            self._compiled = {}
            if self.engine == "arrow":
                for rule in rules:
                    fn = compile_rule(rule.type, rule.kwargs, self.params, schema)
                    if fn is not None:
                        self._compiled[rule.index] = fn
        return self._compiled

    def _hashes(self, frame: _Frame) -> tuple[np.ndarray, np.ndarray]:
        """64-bit hashes of each row's primary key and of the whole row."""
        return key_and_row_hashes(frame.table, list(self.resource.primary_key))

    def _cross_batch(self, frame: _Frame, out: BatchResult, rules: list[Rule]) -> None:
        """Keys that conflict with a version in an earlier batch of the same delivery."""
        unique = [r for r in rules if r.type in UNIQUE_TYPES and set(r.columns) == set(self.resource.primary_key)]
        if not unique:
            return
        if self._unhashed is None and not self._history:
            self._unhashed = frame  # a one-batch delivery (most of them) never pays for hashing here
            return
        if self._unhashed is not None:
            self._history.add(*self._hashes(self._unhashed))
            self._unhashed = None
        cur_k, cur_v = self._hashes(frame)
        seen = self._history.versions(cur_k)
        self._history.add(cur_k, cur_v)
        if not seen:
            return
        candidates = np.flatnonzero(np.isin(cur_k, np.fromiter(seen, dtype=cur_k.dtype)))
        self._keys_seen += int(candidates.size)
        # A conflict: the key had another version earlier (O(1) per row, whatever the set's size).
        rows = np.asarray([i for i in candidates.tolist()
                           if len(s := seen[int(cur_k[i])]) > 1 or int(cur_v[i]) not in s], dtype=np.int64)
        rule = unique[0]
        if rows.size:
            out.failures.append(Failure(rule.check, rule.column, rule.severity, rows, frame.table.num_rows,
                                        rule.description + " (conflicts with an earlier part of the delivery)"))
            out.evaluations.append(Evaluation(rule.check, rule.column, rule.severity, 0, int(rows.size), "row",
                                              rule.description))


def checks_for(resource: Resource) -> list[Check]:
    """The checks every batch of a resource goes through, in order (fresh per delivery).

    Built-in type and required checks first, then the resource's expectation suite
    (expectations/<department>.<resource>.json) when it has one.
    """
    suite = suite_for(resource)
    return [basic_checks] if suite is None else [basic_checks, SuiteCheck(suite, resource)]
