"""What a validation run found, kept in the warehouse and shown (masked) outside it.

``ValidationSummary`` adds up the checks' evaluations over a delivery's batches and keeps a
few masked sample rows; ``save_results`` writes it to quality.validation_results in the
load's own transaction; rejected files get the same summary, an HTML report and masked
samples in their .error.json.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, text

from citydata.domain.masking import mask_delivered, mask_value, sensitive_kind
from citydata.private import write_private
from citydata.quality.checks import Evaluation
from citydata.registry import Resource
from citydata.warehouse.db import sql_file
from citydata.warehouse.load import ts_param, utcnow

log = logging.getLogger(__name__)
MAX_SAMPLES = 5


@dataclass
class CheckTotal:
    check: str
    column: str | None
    severity: str
    level: str
    description: str
    evaluated: int = 0
    failed: int = 0


@dataclass
class ValidationSummary:
    """Per-check totals of one delivery plus a few masked example rows that failed."""

    resource: Resource
    totals: dict[tuple, CheckTotal] = field(default_factory=dict)
    samples: list[dict] = field(default_factory=list)
    rows_read: int = 0
    rows_quarantined: int = 0
    batch_errors: list[str] = field(default_factory=list)

    def add(self, evaluations: list[Evaluation]) -> None:
        for e in evaluations:
            key = (e.check, e.column, e.severity, e.level)
            t = self.totals.get(key)
            if t is None:
                t = self.totals[key] = CheckTotal(e.check, e.column, e.severity, e.level, e.description)
            t.evaluated += e.evaluated
            t.failed += e.failed

    def add_samples(self, rows: list[dict]) -> None:
        """rows: {row_number, record (raw), errors}; masked here, so nothing personal leaves."""
        for r in rows[: MAX_SAMPLES - len(self.samples)]:
            self.samples.append({
                "row_number": r["row_number"],
                "record": mask_delivered(r["record"], self.resource),
                "errors": [{**e, "value": mask_value(e.get("value"), sensitive_kind(self.resource, e.get("column")))}
                           for e in r["errors"]],
            })

    @property
    def checks(self) -> list[CheckTotal]:
        return list(self.totals.values())

    def failed_counts(self) -> dict[str, dict]:
        """{check: {severity, failed, evaluated}} for checks that failed anything."""
        return {t.check + (f" ({t.column})" if t.column and t.column not in t.check else ""):
                {"severity": t.severity, "level": t.level, "failed": t.failed, "evaluated": t.evaluated}
                for t in self.checks if t.failed}


def save_results(conn: Connection, batch_id: int, summary: ValidationSummary) -> None:
    """One row per check into quality.validation_results (in the caller's transaction)."""
    if not summary.totals:
        return
    r = summary.resource
    now = ts_param(utcnow(), conn.dialect.name)
    conn.execute(
        text(sql_file("quality/insert_validation_result.sql", conn.dialect.name)),
        [{"batch_id": batch_id, "department": r.department, "resource": r.name, "expectation": t.check,
          "column_name": t.column, "severity": t.severity, "level": t.level, "evaluated": t.evaluated,
          "failed": t.failed, "description": t.description, "created_at": now} for t in summary.checks],
    )


def results_for_batch(conn: Connection, batch_id: int) -> list[dict]:
    rows = conn.execute(text(sql_file("quality/results_for_batch.sql", conn.dialect.name)), {"batch_id": batch_id})
    return [dict(r._mapping) for r in rows]


def annotate_error_file(target: Path, summary: ValidationSummary, report: Path | None) -> None:
    """Add per-check counts and masked sample rows to a rejected file's .error.json."""
    path = Path(f"{target}.error.json")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        log.warning("cannot annotate %s", path)
        return
    doc["checks"] = summary.failed_counts()
    doc["sample_rows"] = summary.samples
    if report:
        doc["report"] = str(report)
    tmp = path.with_name(path.name + ".tmp")
    write_private(tmp, json.dumps(doc, ensure_ascii=False, indent=2, default=str))
    tmp.replace(path)
