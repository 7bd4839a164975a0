"""The quality report a department owner receives after an ingest run with problems.

One report covers every delivery of the department that had quarantined rows, failed
warning checks or was rejected, and that no earlier report covered; each owner address
gets its own message (own key, own delivery status).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
from collections import defaultdict
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import Connection, text

from citydata.config import settings
from citydata.domain.masking import mask_value, sensitive_kind
from citydata.domain.time import LOCAL_TZ
from citydata.ingest.landing import UNKNOWN, safe_name
from citydata.notify import advice, facts
from citydata.notify.document import Doc
from citydata.notify.i18n import dept_label, field_label, local_time, numbered, resource_label, t
from citydata.notify.message import Attachment, build, short_hash
from citydata.quality.suites import suite_for
from citydata.registry import Department, Registry, Resource
from citydata.render.reasons import rejection_from_reason, source_label
from citydata.reports.validation import validation_report_path
from citydata.warehouse.db import sql_file

log = logging.getLogger(__name__)
MAX_SAMPLE_CHARS = 160
# Deliveries with warnings only (every row loaded) are reported at most this often, bundled,
# so a routine warning (e.g. non-local plates) does not mail the owner after every 15-minute run.
WARNINGS_ONLY_EVERY = dt.timedelta(hours=24)


@dataclass
class Report:
    """Composed messages of one report and the batches it covers (linked when it is stored)."""

    report_key: str
    kind: str
    department: str | None
    messages: list[EmailMessage]
    doc: Doc
    batch_ids: tuple[int, ...] = ()


def _resource(registry: Registry, department: str, name: str) -> Resource | None:
    return registry.departments[department].resources.get(name)


def _masked(resource: Resource | None, column: str | None, value: object) -> str:
    if value is None:
        return "（空）"
    kind = sensitive_kind(resource, column) if resource else None
    if resource is None or (column and kind is None and column not in {f.name for f in resource.fields}):
        # A column the registry does not know: we cannot tell whether it is personal, so mask it.
        return "***"
    text = str(mask_value(value, kind))
    return text if len(text) <= MAX_SAMPLE_CHARS else text[:MAX_SAMPLE_CHARS] + "…"


def _row_summary(resource: Resource | None, row: facts.QuarantinedRow, column: str | None) -> str:
    """Primary key and the failing field, masked: enough to find the row at the source."""
    if resource is None:
        return ""
    names = list(resource.primary_key) + ([column] if column and column not in resource.primary_key else [])
    known = {f.name for f in resource.fields}
    return ", ".join(f"{n}={_masked(resource, n, row.record.get(n))}" for n in names if n in known)


def _csv(resource: Resource, rows: list[facts.QuarantinedRow]) -> bytes:
    """Quarantined rows of one resource, masked; UTF-8 with BOM so Excel opens Chinese text right."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    fields = [f.name for f in resource.fields]
    w.writerow(["batch_id", "source", "row_number", "failed_checks", *fields])
    for r in rows:
        checks = ";".join(sorted({str(e.get("check")) for e in r.errors}))
        w.writerow([r.batch_id, source_label(r.source), r.row_number, checks,
                    *[("" if r.record.get(f) is None else mask_value(r.record.get(f), sensitive_kind(resource, f)))
                      for f in fields]])
    return buf.getvalue().encode("utf-8-sig")


def validation_report(batch_id: int) -> Path | None:
    """The per-batch HTML validation report of the quality gates, when it exists."""
    try:
        path = Path(validation_report_path(batch_id))
    except Exception:  # noqa: BLE001 — a missing report must not stop the email
        log.warning("no validation report path for batch %s", batch_id, exc_info=True)
        return None
    return path if path.is_file() else None


TYPE_ZH = {"string": "文本", "integer": "整数", "float": "数值", "boolean": "是/否", "timestamp": "日期时间",
           "date": "日期"}


def check_descriptions(resource: Resource | None, lang: str) -> dict[str, str]:
    """Plain-language description of each check of a resource (its suite's words, zh-CN or English)."""
    if resource is None:
        return {}
    zh = lang != "en"
    out = {f"type:{f.name}": (f"{f.name_zh or f.name}数据类型不符（应为{TYPE_ZH[f.type]}）" if zh else
                              f"{f.name} is not a valid {f.type}") for f in resource.fields}
    out.update({f"required:{f.name}": (f"{f.name_zh or f.name}不能为空" if zh else f"{f.name} is required")
                for f in resource.fields})
    out.update({f"range:{f.name}": (f"{f.name_zh or f.name}不在合理的日期范围内" if zh else
                                    f"{f.name} is outside the plausible date window")
                for f in resource.fields if f.type in ("date", "timestamp")})
    try:
        suite = suite_for(resource)
    except Exception:  # noqa: BLE001 — a broken suite must not stop the email (the gate reports it)
        log.warning("no suite descriptions for %s", resource.key, exc_info=True)
        suite = None
    for rule in (suite.rules if suite else ()):
        out[rule.check] = (rule.description_zh if zh else rule.description) or rule.check
    return out


def _check_text(descriptions: dict[str, str], check: str) -> str:
    desc = descriptions.get(check)
    return f"{desc}（{check}）" if desc and desc != check else check


def _status(d: facts.Delivery, lang: str) -> str:
    return t(lang, f"status.{d.status}") if d.status in ("loaded", "partial", "rejected") else d.status


def compose(conn: Connection, registry: Registry, department: str, *, run_id: str | None = None,
            now: dt.datetime | None = None) -> Report | None:
    """The department's pending quality report, or None when there is nothing to report."""
    now = now or dt.datetime.now(dt.UTC)
    dept = registry.department(department)
    deliveries = facts.unreported_deliveries(conn, department, now)
    if not deliveries:
        return None
    if not dept.owner_emails:
        log.warning("department %s has quality problems but no owner_emails in the registry: no report sent",
                    department)
        return None
    serious = any(d.status == "rejected" or d.rows_quarantined > 0 for d in deliveries)
    if not serious:
        last = facts.as_datetime(conn.execute(text(sql_file("notify/last_quality_report.sql", conn.dialect.name)),
                                              {"department": department}).scalar())
        if last is not None and now - last < WARNINGS_ONLY_EVERY:
            return None  # kept for the next report (they stay unreported until then)
    lang = dept.language
    batch_ids = [d.batch_id for d in deliveries]
    # Rejected files have no quarantine rows (nothing of them was kept) but may have check counts.
    found = facts.findings(conn, batch_ids)
    doc = _document(registry, dept, deliveries, found, lang, now, serious)
    attachments = _attachments(registry, dept, deliveries, found, lang, doc)
    doc.para(t(lang, "quality.footer", batches=", ".join(map(str, batch_ids)), run=run_id or "—"), tone="note")
    report_key = f"quality:{department}:{short_hash(*batch_ids)}"
    rejected = sum(d.status == "rejected" for d in deliveries)
    quarantined = sum(d.rows_quarantined for d in deliveries if d.status != "rejected")
    subject = (t(lang, "quality.subject", dept=dept_label(dept, lang), n=len(deliveries), q=quarantined, r=rejected)
               if serious else t(lang, "quality.subject_warnings", dept=dept_label(dept, lang), n=len(deliveries)))
    subject += f" · {local_time(now)}"
    html_body, text_body = doc.html(), doc.text()
    messages = [build(report_key=report_key, kind="quality", department=department, recipient=rcpt, subject=subject,
                      text=text_body, html=html_body, lang=lang, attachments=attachments, now=now)
                for rcpt in dept.owner_emails]
    return Report(report_key, "quality", department, messages, doc, tuple(batch_ids))


def _note(dept: Department, d: facts.Delivery, lang: str) -> str:
    """The 说明 of one delivery: what happened to its rows, in the department's language."""
    res = dept.resources.get(d.resource)
    if d.status == "rejected":
        return rejection_from_reason(d.reason, department=dept, resource=res, lang=lang)
    reason = d.reason or ""
    parts = []
    if d.rows_quarantined:
        parts.append(t(lang, "note.quarantined", n=d.rows_quarantined))
    if reason.startswith("duplicate delivery"):
        parts.append(t(lang, "note.same_file"))
    elif d.rows_duplicate:
        parts.append(t(lang, "note.duplicate", n=d.rows_duplicate))
    stale = re.search(r"(\d+) row\(s\) older than the version", reason)
    if stale:
        parts.append(t(lang, "note.stale", n=int(stale.group(1))))
    if not d.rows_read:
        parts.append(t(lang, "note.empty"))
    if not d.rows_quarantined and not reason.startswith("duplicate delivery") and d.rows_read:
        parts.append(t(lang, "note.warnings"))
    return ("；" if lang != "en" else "; ").join(parts)


def rejected_path(dept: Department, d: facts.Delivery) -> str:
    """Where the rejected file now is: rejected/<department>/<resource>/<day>/<name> (the folder when renamed)."""
    name = safe_name(d.source.rsplit("/", 1)[-1])
    started = d.started_at or d.t_landed
    if started is None:
        return f"rejected/{dept.name}/{d.resource}/"
    day = started.astimezone(LOCAL_TZ).date().isoformat()
    folder = f"rejected/{dept.name}/{d.resource}/{day}/"
    return folder + name if (settings().rejected_dir / dept.name / d.resource / day / name).exists() else folder


def _document(registry: Registry, dept: Department, deliveries: list[facts.Delivery], found: facts.Findings,
              lang: str, now: dt.datetime, serious: bool = True) -> Doc:
    doc = Doc(t(lang, "quality.title", dept=dept_label(dept, lang)))
    section = numbered(lang)
    cache: dict[str, dict[str, str]] = {}

    def descs(resource_name: str) -> dict[str, str]:
        if resource_name not in cache:
            cache[resource_name] = check_descriptions(_resource(registry, dept.name, resource_name), lang)
        return cache[resource_name]

    doc.para(t(lang, "quality.greeting", provider=dept.provider))
    doc.para(t(lang, "quality.intro" if serious else "quality.intro_warnings", time=local_time(now),
               n=len(deliveries)))

    doc.heading(section(t(lang, "quality.deliveries")))
    doc.table(
        [t(lang, k) for k in ("col.resource", "col.source", "col.status", "col.read", "col.loaded",
                              "col.quarantined", "col.duplicate", "col.note")],
        [[_res_label(registry, d.department, d.resource, lang), source_label(d.source, lang), _status(d, lang), d.rows_read,
          d.rows_loaded, d.rows_quarantined, d.rows_duplicate, _note(dept, d, lang)] for d in deliveries],
    )

    if found.checks:
        doc.heading(section(t(lang, "quality.checks")))
        evaluated_default: dict[str, int] = defaultdict(int)
        for d in deliveries:
            if d.status != "rejected":
                evaluated_default[d.resource] += d.rows_read
        rows = []
        for stat in sorted(found.checks.values(), key=lambda s: (s.resource, s.severity, -s.failed)):
            res = _resource(registry, dept.name, stat.resource)
            rows.append([
                _res_label(registry, dept.name, stat.resource, lang), _check_text(descs(stat.resource), stat.check),
                field_label(res, stat.column, lang), t(lang, f"severity.{stat.severity}"), stat.failed,
                stat.evaluated if stat.evaluated is not None else evaluated_default.get(stat.resource, "—"),
                advice.check_advice(stat.check, lang),
            ])
        doc.table([t(lang, k) for k in ("col.resource", "col.check", "col.field", "col.severity", "col.failed",
                                        "col.evaluated", "col.fix")], rows)

    if found.samples:
        doc.heading(section(t(lang, "quality.samples")))
        doc.para(t(lang, "quality.samples_note", n=facts.SAMPLES_PER_CHECK), tone="note")
        rows = []
        for (resource_name, check), samples in sorted(found.samples.items()):
            res = _resource(registry, dept.name, resource_name)
            for row in samples:
                errs = [e for e in row.errors if str(e.get("check")) == check] or row.errors[:1]
                column = errs[0].get("column") if errs else None
                rows.append([
                    _res_label(registry, dept.name, resource_name, lang), check,
                    f"{source_label(row.source, lang)}:{row.row_number}", field_label(res, column, lang),
                    _masked(res, column, errs[0].get("value") if errs else None),
                    _row_summary(res, row, column),
                    descs(resource_name).get(check) or advice.check_advice(check, lang),
                ])
        doc.table([t(lang, k) for k in ("col.resource", "col.check", "col.row", "col.field", "col.value",
                                        "col.record", "col.reason")], rows)

    rejected = [d for d in deliveries if d.status == "rejected"]
    if rejected:
        doc.heading(section(t(lang, "quality.rejected")))
        doc.table([t(lang, k) for k in ("col.file", "col.reason", "col.fix", "col.where")],
                  [[source_label(d.source, lang), _note(dept, d, lang), advice.rejection_advice(d.reason, lang),
                    rejected_path(dept, d) if d.source_kind == "file" else "—"] for d in rejected])
        doc.para(t(lang, "quality.rejected_where"), tone="note")
    return doc


def _res_label(registry: Registry, department: str, name: str, lang: str) -> str:
    res = _resource(registry, department, name)
    if res is None and name == UNKNOWN:
        return t(lang, "quality.unknown_folder")
    return f"{resource_label(res, lang)}（{name}）" if res and lang != "en" else (resource_label(res, lang) if res
                                                                                 else name)


def _attachments(registry: Registry, dept: Department, deliveries: list[facts.Delivery], found: facts.Findings,
                 lang: str, doc: Doc) -> list[Attachment]:
    out: list[Attachment] = []
    notes: list[str] = []
    by_resource: dict[str, list[facts.QuarantinedRow]] = defaultdict(list)
    for row in found.rows:
        by_resource[row.resource].append(row)
    for name, rows in sorted(by_resource.items()):
        res = _resource(registry, dept.name, name)
        if res is None:
            continue
        filename = f"quarantine_{dept.name}_{name}.csv"
        out.append(Attachment(filename, _csv(res, rows), "text", "csv", "utf-8"))
        notes.append(t(lang, "quality.att_csv", name=filename))
    if found.total_rows > len(found.rows):
        notes.append(t(lang, "quality.truncated", total=found.total_rows, n=len(found.rows)))
    missing_report = False
    for d in deliveries:
        path = validation_report(d.batch_id)
        if path is None:
            missing_report = missing_report or d.status != "rejected"
            continue
        filename = f"validation_{dept.name}_{d.resource}_batch{d.batch_id}.html"
        out.append(Attachment(filename, path.read_bytes(), "text", "html", "utf-8"))
        notes.append(t(lang, "quality.att_report", name=filename, batch=d.batch_id))
    if missing_report:
        notes.append(t(lang, "quality.no_report"))
    if notes:
        doc.heading(t(lang, "quality.attachments"))
        doc.bullets(notes)
    return out
