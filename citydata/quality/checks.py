"""The check interface shared by the built-in checks and the Great Expectations suites."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citydata.ingest.coerce import Coerced
from citydata.registry import Resource

Severity = Literal["error", "warning"]


@dataclass
class Failure:
    """One check that some rows of a batch failed (row indices are batch positions)."""

    check: str
    column: str | None
    severity: Severity
    rows: np.ndarray
    evaluated: int
    description: str = ""


@dataclass
class Evaluation:
    """What one check evaluated and how much failed: the validation summary kept per batch."""

    check: str
    column: str | None
    severity: Severity
    evaluated: int
    failed: int
    level: str = "row"  # row / batch / header / delivery
    description: str = ""


@dataclass
class BatchResult:
    failures: list[Failure] = field(default_factory=list)
    batch_errors: list[str] = field(default_factory=list)  # a failed batch-level check rejects the file
    evaluations: list[Evaluation] = field(default_factory=list)  # every check run, failed or not

    def error_mask(self, n: int) -> np.ndarray:
        mask = np.zeros(n, dtype=bool)
        for f in self.failures:
            if f.severity == "error":
                mask[f.rows] = True
        return mask


Check = Callable[[Coerced, Resource], BatchResult]


def _rows(mask: pa.Array) -> np.ndarray:
    return np.flatnonzero(mask.to_numpy(zero_copy_only=False))


def basic_checks(coerced: Coerced, resource: Resource) -> BatchResult:
    """Values that do not parse as their declared type, and missing required values."""
    n = coerced.table.num_rows
    result = BatchResult()
    for spec in resource.fields:
        bad = _rows(coerced.invalid[spec.name]) if spec.name in coerced.invalid else np.zeros(0, dtype=np.int64)
        message = f"value is not a valid {spec.type}"
        result.evaluations.append(Evaluation(f"type:{spec.name}", spec.name, "error", n, int(bad.size), "row", message))
        if bad.size:
            result.failures.append(Failure(f"type:{spec.name}", spec.name, "error", bad, n, message))
    for column in resource.required_fields:
        missing = pc.is_null(coerced.table.column(column))
        if column in coerced.invalid:  # already reported as a type error
            missing = pc.and_(missing, pc.invert(coerced.invalid[column]))
        rows = _rows(missing.combine_chunks() if isinstance(missing, pa.ChunkedArray) else missing)
        result.evaluations.append(Evaluation(f"required:{column}", column, "error", n, int(rows.size), "row",
                                             "required value is missing"))
        if rows.size:
            result.failures.append(Failure(f"required:{column}", column, "error", rows, n, "required value is missing"))
    _window_checks(coerced, resource, result)
    return result


def _window_checks(coerced: Coerced, resource: Resource, result: BatchResult) -> None:
    """Dates and times outside the field's plausible window (registry FieldSpec.window): 0001-01-01
    and 9999-12-31 are placeholders or typing mistakes, not installation dates."""
    now = dt.datetime.now(dt.UTC)
    n = coerced.table.num_rows
    for spec in resource.fields:
        if spec.type not in ("date", "timestamp"):
            continue
        low, high = spec.window(now)
        col = coerced.table.column(spec.name)
        if spec.type == "date":
            lo, hi = pa.scalar(low.date(), pa.date32()), pa.scalar(high.date(), pa.date32())
        else:
            lo, hi = pa.scalar(low, pa.timestamp("us", tz="UTC")), pa.scalar(high, pa.timestamp("us", tz="UTC"))
        outside = pc.or_(pc.less(col, lo), pc.greater(col, hi)).fill_null(False)
        rows = _rows(outside.combine_chunks() if isinstance(outside, pa.ChunkedArray) else outside)
        message = f"value is outside the plausible window {low.date()} .. {high.date()}"
        result.evaluations.append(Evaluation(f"range:{spec.name}", spec.name, "error", n, int(rows.size), "row", message))
        if rows.size:
            result.failures.append(Failure(f"range:{spec.name}", spec.name, "error", rows, n, message))


def run_checks(checks: list[Check], coerced: Coerced, resource: Resource) -> BatchResult:
    out = BatchResult()
    for check in checks:
        r = check(coerced, resource)
        out.failures.extend(r.failures)
        out.batch_errors.extend(r.batch_errors)
        out.evaluations.extend(r.evaluations)
    return out


def _delivery_checks(checks: list[Check], hook: str, arg: object) -> BatchResult:
    out = BatchResult()
    for check in checks:
        method = getattr(check, hook, None)
        if method is not None:
            r = method(arg)
            out.batch_errors.extend(r.batch_errors)
            out.evaluations.extend(r.evaluations)
    return out


def begin_delivery(checks: list[Check], columns: list[str]) -> BatchResult:
    """Checks of the delivery's header (raw column names), for checks that have them."""
    return _delivery_checks(checks, "begin", columns)


def finish_delivery(checks: list[Check], rows_read: int) -> BatchResult:
    """Checks of the whole delivery (e.g. row count), after its last batch."""
    return _delivery_checks(checks, "finish", rows_read)


def calls_gx(checks: list[Check]) -> bool:
    """True when a check calls into GX for each batch (a fixed cost per call, whatever its size)."""
    return any(getattr(check, "calls_gx", lambda: False)() for check in checks)


def keys_unique(checks: list[Check]) -> bool:
    """True when a check vouches that no primary key occurs twice in the delivery (after its last batch)."""
    return any(getattr(check, "keys_unique", lambda: False)() for check in checks)
