"""Ingest one landed file: read → coerce → check → quarantine / stage → upsert → audit → archive.

Nothing is lost: every row read is loaded, quarantined or counted as a duplicate, and a
file that cannot be loaded at all goes to rejected/ with the reason beside it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from functools import partial

import numpy as np
import pyarrow as pa
from sqlalchemy import Connection, text

from citydata.bootstrap import ensure_schema
from citydata.config import Settings, settings
from citydata.errors import CitydataError, FileRejected
from citydata.ingest import landing
from citydata.ingest.coerce import coerce_batch
from citydata.ingest.readers import read_file
from citydata.quality.checks import (
    BatchResult,
    Check,
    begin_delivery,
    calls_gx,
    finish_delivery,
    keys_unique,
    run_checks,
)
from citydata.quality.results import ValidationSummary, save_results
from citydata.quality.suites import checks_for
from citydata.quality.suites import warm as warm_gx
from citydata.registry import Department, Registry, Resource, load_registry
from citydata.render.reasons import rejection_text
from citydata.warehouse.db import sql_file, transaction
from citydata.warehouse.load import BatchLoad, ts_param, utcnow

log = logging.getLogger(__name__)


@dataclass
class AuditRecord:
    """What happened to one delivery (the `citydata audit` contract)."""

    department: str
    resource: str
    source: str
    status: str  # loaded / partial / rejected
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    reason: str | None = None
    batch_id: int | None = None
    rows_stale: int = 0  # older than the version core held: kept in quality.stale_rows, not loaded

    def as_dict(self) -> dict:
        return asdict(self)


_READY: set[tuple[str, str]] = set()


def prepare(registry: Registry, cfg: Settings) -> None:
    """Create the warehouse once per process and registry."""
    key = (cfg.warehouse_url, str(registry.path))
    if key not in _READY:
        ensure_schema(registry, cfg.warehouse_url)
        _READY.add(key)


def _row_errors(result: BatchResult, batch: pa.RecordBatch, bad: np.ndarray) -> dict[int, list[dict]]:
    errors: dict[int, list[dict]] = defaultdict(list)
    names = set(batch.schema.names)
    for f in result.failures:
        if f.severity != "error":
            continue
        values = batch.column(f.column).take(pa.array(f.rows)).to_pylist() if f.column in names else [None] * len(f.rows)
        for i, v in zip(f.rows.tolist(), values, strict=True):
            errors[i].append({"check": f.check, "column": f.column, "value": _jsonable({"v": v})["v"],
                              "message": f.description})
    return errors


# Rows per check pass: a GX validation costs ~0.1-0.4 s per call whatever its size, so small
# reader batches (8 MiB CSV blocks, API pages) are merged before checking; memory stays bounded.
CHECK_BATCH_ROWS = 500_000
# Without GX a pass has no fixed cost: smaller batches keep the COPY of one batch running
# while the next is checked, so less is left to wait for after the last check (first load of
# 1M rows, medians: 500k 5.0-5.6 s, 200k 4.7-4.9 s, 100k 4.5-4.6 s; after binary COPY, 200k
# 2.82 s, 100k 2.67 s). Keep it at twice FIRST_LOAD_MIN_ROWS or more: the first batch's good
# rows decide the direct first load (50k batches fell back to staging: 5.5 s).
ARROW_CHECK_BATCH_ROWS = 100_000


def check_batch_rows(checks: list[Check]) -> int:
    """Rows per check pass for these checks (bigger when each pass pays GX's fixed cost)."""
    return CHECK_BATCH_ROWS if calls_gx(checks) else ARROW_CHECK_BATCH_ROWS


def coalesce(batches: Iterable[pa.RecordBatch], rows: int) -> Iterable[pa.RecordBatch]:
    """Merge consecutive batches and cut them into batches of ``rows`` rows, the last one
    smaller (order kept; columns unioned). Equal batches keep peak memory the same whatever
    the file's size (with reader blocks merged to "at least" ``rows``, a 1M-row file ended
    in a smaller batch than a 5M-row file's)."""
    pending: list[pa.RecordBatch] = []
    n = 0

    def merged() -> pa.RecordBatch:
        if len(pending) == 1:
            return pending[0]
        table = pa.concat_tables([pa.Table.from_batches([b]) for b in pending], promote_options="default")
        return table.combine_chunks().to_batches(max_chunksize=table.num_rows)[0]

    for batch in batches:
        pending.append(batch)
        n += batch.num_rows
        while n >= rows:
            whole = merged()
            yield whole.slice(0, rows)
            rest = whole.slice(rows)
            pending, n = ([rest] if rest.num_rows else []), rest.num_rows
    if pending:
        yield merged()


def _write_batch(load: BatchLoad, held: list[dict], rows: pa.Table, positions: pa.Array, unique: bool) -> None:
    load.quarantine(held)
    load.stage(rows, positions, keys_unique=unique)


class _Writer:
    """Runs each batch's database writes (quarantine, COPY) in order, one batch at a time.

    On PostgreSQL they run in one background thread, so the checks of batch n+1 (our core)
    overlap the COPY of batch n (parsed by the database on the other core); meanwhile only
    that thread uses the connection. Leaving the block waits for the last write (and
    re-raises its error), so nothing else touches the connection while a write runs.
    """

    def __init__(self, background: bool) -> None:
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="citydata-load") if background else None
        self.pending: Future | None = None

    def submit(self, fn: Callable[..., None], *args: object) -> None:
        self.wait()
        if self.pool is None:
            fn(*args)
        else:
            self.pending = self.pool.submit(fn, *args)

    def wait(self) -> None:
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.result()

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)
        if exc_type is None:
            self.wait()


def _summarise(failures: dict[str, int], read: int) -> str:
    top = sorted(failures.items(), key=lambda kv: -kv[1])[:5]
    return "; ".join(f"{check}: {n} row(s)" for check, n in top) + f" (of {read} read)"


class _Delivery:
    """The running accounting of one delivery while its batches are checked and staged."""

    def __init__(self, resource: Resource, load: BatchLoad) -> None:
        self.resource, self.load = resource, load
        self.checks = checks_for(resource)
        self.summary = ValidationSummary(resource)
        self.rows_read = self.quarantined = 0
        self.failed: dict[str, int] = defaultdict(int)
        self.batch_errors: list[str] = []
        self.columns: list[str] | None = None

    def header(self, columns: list[str]) -> None:
        """The delivery's header (raw column names) through the column-set checks, once."""
        self.columns = columns
        header = begin_delivery(self.checks, columns)
        self.batch_errors.extend(header.batch_errors)
        self.summary.add(header.evaluations)

    def check(self, batch: pa.RecordBatch) -> tuple[list[dict], pa.Table, pa.Array]:
        """Coerce and check one batch: (quarantine rows, good typed rows, their source positions)."""
        n = batch.num_rows
        if self.columns is None:
            self.header(batch.schema.names)
        coerced = coerce_batch(batch, self.resource)
        result = run_checks(self.checks, coerced, self.resource)
        self.batch_errors.extend(result.batch_errors)
        self.summary.add(result.evaluations)
        bad = result.error_mask(n)
        positions = pa.array(np.arange(self.rows_read, self.rows_read + n, dtype=np.int64))
        held: list[dict] = []
        good_rows = coerced.table
        if bad.any():
            for f in result.failures:
                if f.severity == "error":
                    self.failed[f.check] += len(f.rows)
            errors = _row_errors(result, batch, bad)
            bad_rows = np.flatnonzero(bad)
            raw = batch.take(pa.array(bad_rows)).to_pylist()  # only the bad rows become Python objects
            held = [{"row_number": self.rows_read + int(i) + 1, "record": _jsonable(rec), "errors": errors[int(i)]}
                    for i, rec in zip(bad_rows, raw, strict=True)]
            self.summary.add_samples(held)
            good = pa.array(~bad)
            good_rows, positions = good_rows.filter(good), positions.filter(good)
            self.quarantined += int(bad.sum())
        self.rows_read += n
        return held, good_rows, positions

    def finish(self) -> None:
        """Delivery-level checks; FileRejected when one failed or too many rows are bad."""
        final = finish_delivery(self.checks, self.rows_read)
        self.batch_errors.extend(final.batch_errors)
        self.summary.add(final.evaluations)
        s = self.summary
        s.rows_read, s.rows_quarantined, s.batch_errors = self.rows_read, self.quarantined, self.batch_errors
        if self.batch_errors:
            rej = FileRejected("batch check failed", "; ".join(self.batch_errors), self.rows_read)
            rej.validation = s  # for the .error.json samples and the report of the rejected delivery
            raise rej
        if self.rows_read and self.quarantined / self.rows_read > self.resource.max_bad_share:
            rej = FileRejected(
                "too many bad rows",
                f"{self.quarantined} of {self.rows_read} rows failed checks (limit {self.resource.max_bad_share:.0%}): "
                + _summarise(self.failed, self.rows_read),
                self.rows_read,
            )
            rej.validation = s
            raise rej


def _jsonable(record: dict) -> dict:
    """Raw values as JSON can hold them: binary values as text when valid UTF-8, else hex (never "b'…'")."""
    out = {}
    for k, v in record.items():
        if isinstance(v, bytes | bytearray):
            try:
                v = bytes(v).decode("utf-8")
            except UnicodeDecodeError:
                v = "0x" + bytes(v).hex()
        elif isinstance(v, float) and v != v:
            v = "NaN"
        out[k] = v
    return out


def load_batches(conn: Connection, resource: Resource, batches: Iterable[pa.RecordBatch], *, source_kind: str,
                 source: str, checksum: str | None = None, run_id: str | None = None,
                 columns: list[str] | None = None) -> tuple[BatchLoad, AuditRecord]:
    """Coerce, check, quarantine and upsert a stream of batches inside the caller's transaction.

    Raises FileRejected (the caller rolls back) when a batch-level check fails or too many
    rows are bad. The caller may write more in the same transaction (e.g. a watermark)
    before committing; t_landed is stamped by BatchLoad.close, the last statement here.
    ``columns`` (the delivery's header) feeds the suite's column-set checks; default: the
    first batch's columns. The validation summary is saved in the same transaction and an
    HTML report written per batch (quality.results, quality.report).
    """
    load = BatchLoad(conn, resource, source_kind, source, checksum, run_id)
    d = _Delivery(resource, load)
    if columns is not None:
        d.header(columns)
    with _Writer(background=conn.dialect.name == "postgresql") as writer:
        for batch in coalesce(batches, check_batch_rows(d.checks)):
            held, good_rows, positions = d.check(batch)
            writer.submit(_write_batch, load, held, good_rows, positions, keys_unique(d.checks))
    d.finish()
    loaded = load.upsert(keys_unique=keys_unique(d.checks))
    rows_read, quarantined, stale = d.rows_read, d.quarantined, load.stale
    duplicate = rows_read - quarantined - loaded - stale
    status = "partial" if quarantined else "loaded"
    reason = _summarise(d.failed, rows_read) if quarantined else ("no data rows" if not rows_read else None)
    if stale:
        note = f"{stale} row(s) older than the version already loaded (quality.stale_rows)"
        reason = f"{reason}; {note}" if reason else note
    save_results(conn, load.batch_id, d.summary)
    load.close(status=status, rows_read=rows_read, rows_loaded=loaded, rows_quarantined=quarantined,
               rows_duplicate=duplicate, rows_stale=stale, reason=reason)
    record = AuditRecord(resource.department, resource.name, source, status, rows_read, loaded, quarantined,
                         duplicate, reason, load.batch_id, stale)
    write_report_safely(d.summary, record)
    return load, record


def write_report_safely(summary: ValidationSummary, record: AuditRecord) -> None:
    """The HTML report is a by-product: failing to write it must not fail the load."""
    from citydata.reports.validation import write_validation_report as write_report

    try:
        write_report(summary, batch_id=record.batch_id, source=record.source, status=record.status,
                     rows_loaded=record.rows_loaded, rows_duplicate=record.rows_duplicate, reason=record.reason)
    except OSError as exc:
        log.warning("validation report of batch %s not written: %s", record.batch_id, exc)


def load_file(landed: landing.Landed, resource: Resource, cfg: Settings, digest: str, run_id: str | None,
              verify: Callable[..., None] = lambda content=True: None) -> AuditRecord:
    """Load one file in one transaction; raises FileRejected (nothing committed) if it cannot load.

    ``verify`` hashes the file again as soon as it is read through (beside the last checks and
    the upsert) and stats it last, inside the transaction; raising there (landing.FileChanged:
    the file grew or changed while it was read) rolls the whole load back.
    """
    try:
        fb = read_file(landed.path, {f.name for f in resource.fields})
        missing = [c for c in resource.required_fields if c not in fb.columns]
        if missing:
            raise FileRejected("missing required column(s)", _missing_columns(resource, missing, fb.columns))
        warm_gx(resource)  # GX's start-up (when a rule needs it) before the write transaction holds the warehouse
        with transaction(cfg.warehouse_url) as conn, ThreadPoolExecutor(1, thread_name_prefix="citydata-verify") as pool:
            verified: list[Future] = []

            def read_then_verify() -> Iterator[pa.RecordBatch]:
                yield from fb.batches
                verified.append(pool.submit(verify))  # read through: hashed while the load finishes

            _, record = load_batches(conn, resource, read_then_verify(), source_kind="file", source=landed.relative,
                                     checksum=digest, run_id=run_id, columns=fb.columns)
            _keep_raw_name(conn, record.batch_id, landed)
            (verified[0] if verified else pool.submit(verify)).result()
            verify(content=False)  # a write after the read shows in the size or mtime
    except CitydataError:
        raise
    except Exception as exc:  # noqa: BLE001 — one unreadable file must not block the others
        # The exception's text may quote content: only its kind is reported.
        raise FileRejected("unreadable file", f"{type(exc).__name__} while reading the delivery") from exc
    return record


def _missing_columns(resource: Resource, missing: list[str], header: list[str]) -> str:
    """Names the expected columns and counts, never the header itself: in a file without a header
    row the "header" is the first data row (names, plates)."""
    required = resource.required_fields
    known = [c for c in header if c in {f.name for f in resource.fields}]
    zh = ", ".join(resource.field(c).name_zh or c for c in missing)
    return (f"{', '.join(missing)} ({zh}; {len(missing)} of {len(required)} required) not in the header; "
            f"its first row has {len(header)} column(s), {len(known)} of them fields of the resource "
            f"(expected {', '.join(required)}); is the header row missing?")


def _keep_raw_name(conn: Connection, batch_id: int, landed: landing.Landed) -> None:
    """The delivered name, when the audit shows a masked one, in the restricted audit.source_names."""
    if landed.raw_relative is not None:
        conn.execute(text(sql_file("audit/insert_source_name.sql", conn.dialect.name)),
                     {"batch_id": batch_id, "source_raw": landed.raw_relative})


def record_without_load(cfg: Settings, resource: Resource | None, landed: landing.Landed, *, status: str,
                        rows_read: int, rows_quarantined: int, rows_duplicate: int, reason: str,
                        digest: str | None, run_id: str | None, rows_stale: int = 0) -> int:
    """Audit a delivery that loads nothing (rejected, or a duplicate of an earlier file)."""
    with transaction(cfg.warehouse_url) as conn:
        now = ts_param(utcnow(), conn.dialect.name)
        batch_id = conn.execute(
            text(sql_file("audit/open_batch.sql", conn.dialect.name)),
            {"department": landed.department, "resource": resource.name if resource else landed.resource,
             "source_kind": "file", "source": landed.relative, "checksum": digest, "run_id": run_id, "started_at": now},
        ).scalar_one()
        _keep_raw_name(conn, batch_id, landed)
        conn.execute(
            text(sql_file("audit/close_batch.sql", conn.dialect.name)),
            {"batch_id": batch_id, "status": status, "rows_read": rows_read, "rows_loaded": 0,
             "rows_quarantined": rows_quarantined, "rows_duplicate": rows_duplicate, "rows_stale": rows_stale,
             "reason": reason, "t_landed": now if status != "rejected" else None},
        )
    return batch_id


def _previous_load(cfg: Settings, resource: Resource, digest: str) -> tuple[int, int] | None:
    with transaction(cfg.warehouse_url) as conn:
        row = conn.execute(
            text(sql_file("audit/find_checksum.sql", conn.dialect.name)),
            {"department": resource.department, "resource": resource.name, "checksum": digest},
        ).first()
    return (row.batch_id, row.rows_read) if row else None


def ingest_file(landed: landing.Landed, registry: Registry | None = None, cfg: Settings | None = None,
                run_id: str | None = None) -> AuditRecord:
    """Ingest one waiting file and move it out of the landing zone. Never raises for bad input.

    The file is claimed first (landing.claim), so a concurrent run skips it; if the warehouse
    or the archive fails, the error is raised and the file goes back to the landing zone.
    """
    registry = registry or load_registry()
    cfg = cfg or settings()
    prepare(registry, cfg)
    with landing.claim(landed, cfg) as held:
        if held is None:
            return AuditRecord(landed.department, landed.resource, landed.relative, "skipped",
                               reason="claimed by another run")
        return _ingest_claimed(held, registry, cfg, run_id)


def _moved(move: Callable[[], object], landed: landing.Landed, done: str) -> None:
    try:
        move()
    except OSError as exc:
        raise CitydataError(f"{landed.relative}: {done}, but moving it out of the landing zone failed "
                            f"({exc.strerror or exc}); the file stays in landing/ for the next run") from exc


def _verifier(landed: landing.Landed, before: landing.Signature, digest: str) -> Callable[..., None]:
    """A check that the held file is still what was read: same size and mtime, same content
    (``content=False``: size and mtime only, a stat)."""
    def verify(content: bool = True) -> None:
        try:
            now = landing.signature(landed.path)
            same = now == before and (not content or landing.checksum(landed.path) == digest)
        except OSError:
            same = False
        if not same:
            raise landing.FileChanged(f"{landed.relative}: changed while it was read (still being written?); "
                                      "nothing loaded, the file goes back to the landing zone")
    return verify


def _ingest_claimed(landed: landing.Landed, registry: Registry, cfg: Settings, run_id: str | None) -> AuditRecord:
    resource = None if landed.resource == landing.UNKNOWN else registry.resource(landed.department, landed.resource)
    digest = None
    verify: Callable[..., None] = lambda content=True: None  # noqa: E731
    try:
        try:
            if landed.problem or resource is None:
                raise FileRejected("not accepted", landed.problem or "unknown resource folder")
            before = landing.signature(landed.path)
            digest = landing.checksum(landed.path)
            verify = _verifier(landed, before, digest)
            previous = _previous_load(cfg, resource, digest)
            if previous:
                verify()
                return _duplicate(landed, resource, cfg, previous, digest, run_id)
            record = load_file(landed, resource, cfg, digest, run_id, verify)
        except OSError as exc:  # reading the held file itself failed (e.g. EIO): a rejection, not a loop
            raise FileRejected("unreadable file", f"{type(exc).__name__} ({exc.strerror or 'I/O error'})") from None
        except FileRejected:
            verify()  # a file still being written looks truncated: it goes back instead of being rejected
            raise
    except landing.FileChanged as exc:
        log.warning("%s", exc)
        return AuditRecord(landed.department, landed.resource, landed.relative, "skipped", reason=str(exc))
    except FileRejected as rej:
        return _rejected(landed, resource, cfg, rej, digest, run_id, registry.departments.get(landed.department))
    _moved(lambda: landing.archive(landed, cfg), landed, f"loaded (batch {record.batch_id})")
    log.info("%s: %s, read %d, loaded %d, quarantined %d, duplicate %d, stale %d", landed.relative, record.status,
             record.rows_read, record.rows_loaded, record.rows_quarantined, record.rows_duplicate, record.rows_stale)
    return record


def _duplicate(landed: landing.Landed, resource: Resource, cfg: Settings, previous: tuple[int, int], digest: str,
               run_id: str | None) -> AuditRecord:
    batch_id, rows = previous
    reason = f"duplicate delivery: same content as batch {batch_id}"
    new_id = record_without_load(cfg, resource, landed, status="loaded", rows_read=rows, rows_quarantined=0,
                                 rows_duplicate=rows, reason=reason, digest=digest, run_id=run_id)
    _moved(lambda: landing.archive(landed, cfg), landed, f"duplicate recorded (batch {new_id})")
    return AuditRecord(landed.department, resource.name, landed.relative, "loaded", rows, 0, 0, rows, reason, new_id)


def _rejected(landed: landing.Landed, resource: Resource | None, cfg: Settings, rej: FileRejected,
              digest: str | None, run_id: str | None, department: Department | None = None) -> AuditRecord:
    reason = landing.mask_text(f"{rej.reason}: {rej.details}" if rej.details else rej.reason)
    batch_id = record_without_load(cfg, resource, landed, status="rejected", rows_read=rej.rows_read,
                                   rows_quarantined=rej.rows_read, rows_duplicate=0, reason=reason,
                                   digest=digest, run_id=run_id)
    message = rejection_text(rej.reason, rej.details, department=department, resource=resource)
    _moved(partial(_reject, landed, cfg, rej, batch_id, message), landed, f"rejected (batch {batch_id})")
    log.warning("rejected %s: %s", landed.relative, reason)
    return AuditRecord(landed.department, landed.resource, landed.relative, "rejected", rej.rows_read, 0,
                       rej.rows_read, 0, reason, batch_id)


def _reject(landed: landing.Landed, cfg: Settings, rej: FileRejected, batch_id: int, message: str | None = None) -> None:
    """Move to rejected/ with .error.json; when checks ran, add their counts, masked samples and a report."""
    target = landing.reject(landed, cfg, rej.reason, rej.details, rej.rows_read, message)
    summary = getattr(rej, "validation", None)
    if summary is None:
        return
    from citydata.quality.results import annotate_error_file, save_results
    from citydata.reports.validation import write_validation_report as write_report

    report = None
    try:
        report = write_report(summary, batch_id=batch_id, source=landed.relative, status="rejected",
                              reason=landing.mask_text(f"{rej.reason}: {rej.details}"), cfg=cfg)
    except OSError as exc:
        log.warning("validation report of rejected batch %s not written: %s", batch_id, exc)
    annotate_error_file(target, summary, report)
    try:
        with transaction(cfg.warehouse_url) as conn:
            save_results(conn, batch_id, summary)
    except CitydataError as exc:
        log.warning("validation results of rejected batch %s not saved: %s", batch_id, exc)


def ingest_department(department: str, registry: Registry | None = None, cfg: Settings | None = None,
                      run_id: str | None = None) -> list[AuditRecord]:
    """Everything waiting for one department, file by file (used outside Airflow and in tests)."""
    registry = registry or load_registry()
    cfg = cfg or settings()
    prepare(registry, cfg)
    landing.recover_claims(cfg)
    records, errors = [], []
    for f in landing.waiting_files(registry, department, cfg):
        try:
            records.append(ingest_file(f, registry, cfg, run_id))
        except CitydataError as exc:  # e.g. archive/ full: this file waits, the others still load
            log.error("%s", exc)
            errors.append(exc)
    if errors:
        more = f" (and {len(errors) - 1} more file(s))" if len(errors) > 1 else ""
        raise CitydataError(f"{errors[0]}{more}") from errors[0]
    return [r for r in records if r.status != "skipped"]
