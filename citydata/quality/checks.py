"""The check interface shared by the built-in checks and the Great Expectations suites."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citydata.coerce import Coerced
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
class BatchResult:
    failures: list[Failure] = field(default_factory=list)
    batch_errors: list[str] = field(default_factory=list)  # a failed batch-level check rejects the file

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
    for column, mask in coerced.invalid.items():
        spec = resource.field(column)
        result.failures.append(
            Failure(f"type:{column}", column, "error", _rows(mask), n, f"value is not a valid {spec.type}")
        )
    for column in resource.required_fields:
        missing = pc.is_null(coerced.table.column(column))
        if column in coerced.invalid:  # already reported as a type error
            missing = pc.and_(missing, pc.invert(coerced.invalid[column]))
        rows = _rows(missing.combine_chunks() if isinstance(missing, pa.ChunkedArray) else missing)
        if rows.size:
            result.failures.append(Failure(f"required:{column}", column, "error", rows, n, "required value is missing"))
    return result


def run_checks(checks: list[Check], coerced: Coerced, resource: Resource) -> BatchResult:
    out = BatchResult()
    for check in checks:
        r = check(coerced, resource)
        out.failures.extend(r.failures)
        out.batch_errors.extend(r.batch_errors)
    return out


def checks_for(resource: Resource) -> list[Check]:
    """The checks every batch of a resource goes through, in order."""
    return [basic_checks]
