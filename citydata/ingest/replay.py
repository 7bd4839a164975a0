"""Replay quarantined rows: re-validate them (after a correction or a suite/registry fix) and
move the ones that now pass into core, exactly once.

A department corrects rows through a CSV round trip (``export_quarantine`` →
edit → ``import_corrections``); corrections are stored beside the untouched original
(quality.quarantine_corrections). ``replay`` then runs, per resource, in one transaction:
lock the open rows, coerce and check them with the same checks as a delivery (row-level
only: header and row-count rules belong to a delivery), upsert the passing rows through a
new audit row (source_kind 'replay'; rows_read = rows_loaded + rows_quarantined +
rows_duplicate + rows_stale holds, and t_landed is stamped), and mark them ``replayed`` with
``resolved_batch_id``. Rows that still fail stay open with their new reasons. A concurrent
replay waits for the lock and then finds nothing open, so no row loads twice.
"""

from __future__ import annotations

import csv
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
from sqlalchemy import Connection, text

from citydata.config import Settings, settings
from citydata.errors import CitydataError
from citydata.ingest.coerce import coerce_batch
from citydata.ingest.pipeline import _row_errors, prepare
from citydata.private import private_dir
from citydata.quality.checks import run_checks
from citydata.quality.suites import checks_for
from citydata.registry import Registry, Resource, load_registry
from citydata.warehouse.db import sql_file, transaction
from citydata.warehouse.load import BatchLoad, ts_param, utcnow

log = logging.getLogger(__name__)
META_COLUMNS = ("quarantine_id", "batch_id", "row_number", "problems", "action")
ACTIONS = ("", "replay", "discard")


@dataclass
class ReplayResult:
    department: str
    resource: str
    batch_id: int | None = None
    rows_read: int = 0  # open rows re-validated
    rows_loaded: int = 0  # inserted or changed in core
    rows_still_bad: int = 0  # stay open, with fresh reasons
    rows_duplicate: int = 0  # passed, but core already held the same values
    rows_stale: int = 0  # passed, but core already held a newer version (superseded)
    replayed_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["replayed"] = len(d.pop("replayed_ids"))
        return d


def _resources(registry: Registry, department: str, resource: str | None) -> list[Resource]:
    dept = registry.department(department)
    if resource:
        return [registry.resource(department, resource)]
    return list(dept.resources.values())


def _as_text(value: object) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) \
        else str(value)


def _stale_positions(conn: Connection, batch_id: int) -> set[int]:
    """Positions (0-based, as staged) of the rows the version guard found stale in this batch."""
    rows = conn.execute(text(sql_file("quality/stale_rows_of_batch.sql", conn.dialect.name)), {"batch_id": batch_id})
    return {int(r.row_number) - 1 for r in rows}


def replay_resource(conn: Connection, resource: Resource, run_id: str | None = None) -> ReplayResult:
    """Re-validate one resource's open quarantined rows inside the caller's transaction."""
    dialect = conn.dialect.name
    result = ReplayResult(resource.department, resource.name)
    lock = "FOR UPDATE OF q" if dialect == "postgresql" else ""
    rows = conn.execute(text(sql_file("quality/open_quarantine.sql", dialect, lock=lock)),
                        {"department": resource.department, "resource": resource.name}).mappings().all()
    if not rows:
        return result
    fields = [f.name for f in resource.fields]
    records = [json.loads(r["corrected"] or r["record"]) for r in rows]
    batch = pa.RecordBatch.from_pydict(
        {f: pa.array([_as_text(rec.get(f)) for rec in records], pa.string()) for f in fields})
    coerced = coerce_batch(batch, resource)
    checks = checks_for(resource)
    checked = run_checks(checks, coerced, resource)
    bad = checked.error_mask(batch.num_rows)
    good_rows = np.flatnonzero(~bad)

    # The load's version guard (load/stale.sql) keeps core's newer versions: a row whose key core
    # holds in a newer version, or in the same version written after the row's own delivery,
    # is recorded as stale and marked superseded here.
    load = BatchLoad(conn, resource, "replay", f"replay:{resource.key}", None, run_id)
    positions = pa.array(np.arange(batch.num_rows, dtype=np.int64))
    origin = pa.array([int(r["batch_id"]) for r in rows], pa.int64())
    keep = pa.array(~bad)
    load.stage(coerced.table.filter(keep), positions.filter(keep), origin=origin.filter(keep))
    loaded = load.upsert()
    superseded = _stale_positions(conn, load.batch_id)
    n = batch.num_rows
    still_bad = int(bad.sum())
    result.batch_id, result.rows_read, result.rows_loaded = load.batch_id, n, loaded
    result.rows_still_bad, result.rows_stale = still_bad, load.stale
    result.rows_duplicate = n - still_bad - loaded - load.stale

    # New reasons for rows that still fail; resolution for the ones that passed.
    errors = _row_errors(checked, batch, bad)
    for i in np.flatnonzero(bad).tolist():
        conn.execute(text(sql_file("quality/update_quarantine_errors.sql", dialect)),
                     {"quarantine_id": rows[i]["quarantine_id"],
                      "errors": json.dumps(errors[i], ensure_ascii=False, default=str)})
    for i in good_rows.tolist():
        status = "superseded" if i in superseded else "replayed"
        done = conn.execute(text(sql_file("quality/resolve_quarantine.sql", dialect)),
                            {"status": status, "resolved_batch_id": load.batch_id,
                             "quarantine_id": rows[i]["quarantine_id"]}).rowcount
        if done != 1:  # the lock makes this impossible; refuse to commit a double load
            raise CitydataError(f"quarantine row {rows[i]['quarantine_id']} was resolved by another replay")
        result.replayed_ids.append(int(rows[i]["quarantine_id"]))
    reason = f"replay of {n} quarantined row(s): {len(good_rows)} passed ({len(superseded)} superseded), " \
             f"{still_bad} still failing"
    load.close(status="partial" if still_bad else "loaded", rows_read=n, rows_loaded=loaded,
               rows_quarantined=still_bad, rows_duplicate=result.rows_duplicate, rows_stale=result.rows_stale,
               reason=reason)
    return result


def replay(department: str, resource: str | None = None, *, registry: Registry | None = None,
           cfg: Settings | None = None, run_id: str | None = None) -> list[ReplayResult]:
    """Replay every resource of a department (or one), one transaction per resource."""
    registry = registry or load_registry()
    cfg = cfg or settings()
    prepare(registry, cfg)
    out = []
    for res in _resources(registry, department, resource):
        with transaction(cfg.warehouse_url) as conn:
            r = replay_resource(conn, res, run_id)
        if r.rows_read:
            log.info("replay %s: %d re-validated, %d loaded, %d still failing (batch %s)", res.key, r.rows_read,
                     r.rows_loaded, r.rows_still_bad, r.batch_id)
        out.append(r)
    return out


# ---------------------------------------------------------------- correction round trip

def export_quarantine(department: str, resource: str | None = None, out: Path | None = None, *,
                      registry: Registry | None = None, cfg: Settings | None = None) -> list[Path]:
    """One CSV per resource with its open quarantined rows (latest values) for the department to fix.

    The file holds the department's own unmasked values (needed to correct them): it is
    written owner-only (0600) under $CITYDATA_HOME/quarantine/ unless ``out`` says otherwise.
    """
    registry = registry or load_registry()
    cfg = cfg or settings()
    prepare(registry, cfg)
    if out is None:  # our own folder: owner-only; a folder the user names keeps its mode (files are 0600)
        out = private_dir(cfg.home / "quarantine" / department, cfg.home / "quarantine")
    else:
        out.mkdir(parents=True, exist_ok=True)
    paths = []
    for res in _resources(registry, department, resource):
        with transaction(cfg.warehouse_url) as conn:
            rows = conn.execute(text(sql_file("quality/open_quarantine.sql", conn.dialect.name, lock="")),
                                {"department": res.department, "resource": res.name}).mappings().all()
        if not rows:
            continue
        fields = [f.name for f in res.fields]
        path = out / f"{res.key}.quarantine.csv"
        tmp = path.with_name(path.name + ".part")
        with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
            tmp.chmod(0o600)
            w = csv.writer(fh)
            w.writerow([*META_COLUMNS, *fields])
            for r in rows:
                rec = json.loads(r["corrected"] or r["record"])
                problems = "; ".join(f"{e.get('check')}: {e.get('message')}" for e in json.loads(r["errors"]))
                w.writerow([r["quarantine_id"], r["batch_id"], r["row_number"], problems, "",
                            *[_as_text(rec.get(f)) or "" for f in fields]])
        tmp.replace(path)
        paths.append(path)
    return paths


def import_corrections(path: Path, *, cfg: Settings | None = None, registry: Registry | None = None) -> dict:
    """Store the corrected rows of an exported CSV; ``action`` discard closes a row for good.

    Every line must name an open quarantined row of the file's resource; a bad line fails the
    whole import with a message naming the file and line (nothing is stored).
    """
    registry = registry or load_registry()
    cfg = cfg or settings()
    prepare(registry, cfg)
    try:
        fh = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise CitydataError(f"cannot read {path}: {exc.strerror or exc}") from None
    counts = {"corrected": 0, "discarded": 0, "unchanged": 0}
    with fh, transaction(cfg.warehouse_url) as conn:
        dialect = conn.dialect.name
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        if "quarantine_id" not in header:
            raise CitydataError(f"{path}: no quarantine_id column (use a file from `citydata quarantine export`)")
        now = ts_param(utcnow(), dialect)
        for line, row in enumerate(reader, start=2):
            where = f"{path}, line {line}"
            try:
                qid = int(row["quarantine_id"])
            except (TypeError, ValueError):
                raise CitydataError(f"{where}: quarantine_id {row.get('quarantine_id')!r} is not a number") from None
            found = conn.execute(text(sql_file("quality/find_quarantine.sql", dialect)), {"quarantine_id": qid}).first()
            if found is None:
                raise CitydataError(f"{where}: quarantine row {qid} does not exist")
            if found.status != "open":
                raise CitydataError(f"{where}: quarantine row {qid} is already {found.status}")
            res = registry.resource(found.department, found.resource)
            action = (row.get("action") or "").strip().lower()
            if action not in ACTIONS:
                raise CitydataError(f"{where}: action {action!r} must be empty, replay or discard")
            if action == "discard":
                conn.execute(text(sql_file("quality/resolve_quarantine.sql", dialect)),
                             {"status": "discarded", "resolved_batch_id": None, "quarantine_id": qid})
                counts["discarded"] += 1
                continue
            unknown = [c for c in header if c not in META_COLUMNS and c not in {f.name for f in res.fields}]
            if unknown:
                raise CitydataError(f"{path}: column(s) {unknown} are not fields of {res.key}")
            original = json.loads(found.record)
            record = {f.name: (row.get(f.name) if f.name in row else original.get(f.name)) for f in res.fields}
            record = {k: (None if v == "" else v) for k, v in record.items()}
            if record == {k: (None if v == "" else _as_text(v)) for k, v in
                          ((f.name, original.get(f.name)) for f in res.fields)}:
                counts["unchanged"] += 1
                continue
            conn.execute(text(sql_file("quality/insert_correction.sql", dialect)),
                         {"quarantine_id": qid, "record": json.dumps(record, ensure_ascii=False),
                          "source": str(path), "corrected_at": now})
            counts["corrected"] += 1
    return counts


def quarantine_counts(department: str | None = None, cfg: Settings | None = None) -> list[dict]:
    cfg = cfg or settings()
    with transaction(cfg.warehouse_url) as conn:
        rows = conn.execute(text(sql_file("quality/quarantine_counts.sql", conn.dialect.name)),
                            {"department": department}).mappings().all()
    return [dict(r) for r in rows]
