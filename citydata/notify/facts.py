"""What the emails report, read from the warehouse: deliveries, failed checks, quarantined rows.

Counts come from quality.validation_results when the suites wrote it (errors and warnings,
with rows evaluated), else from the quarantine rows themselves (errors only).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import Connection, bindparam, inspect, text

from citydata.warehouse.db import qualify, sql_file
from citydata.warehouse.load import ts_param

SAMPLES_PER_CHECK = 3
MAX_CSV_ROWS = 20_000
# Batches older than this are never reported by email (a new deployment over an old warehouse).
LOOKBACK = dt.timedelta(days=7)


def as_datetime(value: object) -> dt.datetime | None:
    """Timestamps come back as datetimes (PostgreSQL) or UTC ISO text (SQLite)."""
    if value is None or isinstance(value, dt.datetime):
        return value
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class Delivery:
    """One row of audit.ingest_log: a file or a pull."""

    batch_id: int
    department: str
    resource: str
    source_kind: str
    source: str
    status: str
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    rows_duplicate: int
    reason: str | None
    run_id: str | None
    started_at: dt.datetime | None
    t_landed: dt.datetime | None

    @classmethod
    def from_row(cls, r: dict) -> Delivery:
        return cls(int(r["batch_id"]), r["department"], r["resource"], r["source_kind"], r["source"], r["status"],
                   int(r["rows_read"]), int(r["rows_loaded"]), int(r["rows_quarantined"]), int(r["rows_duplicate"]),
                   r["reason"], r["run_id"], as_datetime(r["started_at"]), as_datetime(r["t_landed"]))


@dataclass
class CheckStat:
    resource: str
    check: str
    column: str | None
    severity: str
    failed: int = 0
    evaluated: int | None = None


@dataclass
class QuarantinedRow:
    batch_id: int
    resource: str
    source: str
    row_number: int
    record: dict
    errors: list[dict]


@dataclass
class Findings:
    """Failed checks of a set of batches, sample rows per check, and the rows for the CSV."""

    checks: dict[tuple[str, str, str | None, str], CheckStat] = field(default_factory=dict)
    samples: dict[tuple[str, str], list[QuarantinedRow]] = field(default_factory=lambda: defaultdict(list))
    rows: list[QuarantinedRow] = field(default_factory=list)
    total_rows: int = 0


def _validation_table(conn: Connection) -> tuple[str, dict[str, str]] | None:
    """quality.validation_results and its column names, if the quality gates created it."""
    dialect = conn.dialect.name
    schema, name = ("quality", "validation_results") if dialect == "postgresql" else (None, "quality__validation_results")
    insp = inspect(conn)
    if not insp.has_table(name, schema=schema):
        return None
    cols = {c["name"] for c in insp.get_columns(name, schema=schema)}

    def pick(*options: str) -> str | None:
        return next((o for o in options if o in cols), None)

    mapping = {"batch_id": pick("batch_id"), "check": pick("check_name", "expectation", "expectation_type", "check"),
               "column": pick("column_name", "column"), "severity": pick("severity"),
               "evaluated": pick("evaluated", "element_count", "rows_evaluated"),
               "failed": pick("failed", "unexpected_count", "rows_failed")}
    if any(v is None for k, v in mapping.items() if k != "column"):
        return None
    return qualify("quality", "validation_results", dialect), mapping


def warned_subquery(conn: Connection) -> str:
    """SQL yielding batch_ids with failed warning-severity checks (empty without validation results)."""
    found = _validation_table(conn)
    if not found:
        return "(SELECT CAST(NULL AS BIGINT) AS batch_id WHERE 1 = 0)"
    table, m = found
    return (f"(SELECT {m['batch_id']} AS batch_id FROM {table} "
            f"WHERE {m['severity']} = 'warning' AND {m['failed']} > 0)")


def unreported_deliveries(conn: Connection, department: str, now: dt.datetime) -> list[Delivery]:
    sql = sql_file("notify/unreported_batches.sql", conn.dialect.name, warned=warned_subquery(conn))
    rows = conn.execute(text(sql), {"department": department,
                                    "since": ts_param(now - LOOKBACK, conn.dialect.name)}).mappings()
    return [Delivery.from_row(dict(r)) for r in rows]


def deliveries_between(conn: Connection, department: str, start: dt.datetime, end: dt.datetime) -> list[Delivery]:
    d = conn.dialect.name
    rows = conn.execute(text(sql_file("notify/batches_between.sql", d)),
                        {"department": department, "start": ts_param(start, d), "end": ts_param(end, d)}).mappings()
    return [Delivery.from_row(dict(r)) for r in rows]


def _loads(value: object) -> object:
    return json.loads(value) if isinstance(value, str) else value


def findings(conn: Connection, batch_ids: list[int]) -> Findings:
    """Stream the quarantine of the batches once: counts, a few samples per check, CSV rows (capped)."""
    out = Findings()
    if not batch_ids:
        return out
    stmt = text(sql_file("notify/quarantine_rows.sql", conn.dialect.name)).bindparams(
        bindparam("batch_ids", expanding=True))
    # Options on this statement only: set on the connection they would make every later INSERT a cursor.
    result = conn.execute(stmt, {"batch_ids": batch_ids}, execution_options={"stream_results": True, "yield_per": 2000})
    for r in result.mappings():
        row = QuarantinedRow(int(r["batch_id"]), r["resource"], r["source"], int(r["row_number"]),
                             _loads(r["record"]) or {}, _loads(r["errors"]) or [])
        out.total_rows += 1
        if len(out.rows) < MAX_CSV_ROWS:
            out.rows.append(row)
        for err in row.errors:
            check, column = str(err.get("check")), err.get("column")
            stat = out.checks.setdefault((row.resource, check, column, "error"),
                                         CheckStat(row.resource, check, column, "error"))
            stat.failed += 1
            samples = out.samples[(row.resource, check)]
            if len(samples) < SAMPLES_PER_CHECK:
                samples.append(row)
    validated = _validation_counts(conn, batch_ids)
    if validated:
        # The suites' own counts are authoritative (they include warnings and rows evaluated).
        merged: dict[tuple[str, str, str | None, str], CheckStat] = {}
        for key, stat in validated.items():
            merged[key] = stat
        for key, stat in out.checks.items():
            if not any(k[0] == key[0] and k[1] == key[1] for k in merged):
                merged[key] = stat
        out.checks = merged
    out.checks = _one_per_problem(out.checks)
    return out


def _one_per_problem(checks: dict[tuple[str, str, str | None, str], CheckStat]) -> dict:
    """A suite's not_null:<c> on a field the registry makes required fails on exactly the rows of the
    built-in required:<c> (the quarantine keeps only the latter): list that problem once."""
    required = {(k[0], k[2]) for k in checks if k[1].startswith("required:")}
    return {k: v for k, v in checks.items() if not (k[1].startswith("not_null:") and (k[0], k[2]) in required)}


def _validation_counts(conn: Connection, batch_ids: list[int]) -> dict[tuple[str, str, str | None, str], CheckStat]:
    found = _validation_table(conn)
    if not found:
        return {}
    table, m = found
    il = qualify("audit", "ingest_log", conn.dialect.name)
    column = f"v.{m['column']}" if m["column"] else "NULL"
    stmt = text(
        f"SELECT l.resource, v.{m['check']} AS check_name, {column} AS column_name, v.{m['severity']} AS severity, "
        f"SUM(v.{m['evaluated']}) AS evaluated, SUM(v.{m['failed']}) AS failed "
        f"FROM {table} v JOIN {il} l ON l.batch_id = v.{m['batch_id']} "
        f"WHERE v.{m['batch_id']} IN :batch_ids AND v.{m['failed']} > 0 "
        f"GROUP BY l.resource, v.{m['check']}, {column}, v.{m['severity']}"
    ).bindparams(bindparam("batch_ids", expanding=True))
    out = {}
    for r in conn.execute(stmt, {"batch_ids": batch_ids}).mappings():
        sev = "warning" if str(r["severity"]).lower().startswith("warn") else "error"
        key = (r["resource"], str(r["check_name"]), r["column_name"], sev)
        out[key] = CheckStat(r["resource"], str(r["check_name"]), r["column_name"], sev, int(r["failed"] or 0),
                             int(r["evaluated"]) if r["evaluated"] is not None else None)
    return out


def last_landed(conn: Connection, department: str) -> dict[str, dt.datetime]:
    rows = conn.execute(text(sql_file("notify/last_landed.sql", conn.dialect.name)), {"department": department})
    return {r.resource: as_datetime(r.last_landed) for r in rows}
