"""What runs after an ingest run: compose and store everything a department's run should tell people.

``prepare_department`` is the one entry point the ingest DAG's notify task calls before it
delivers; composing and storing happen in one transaction, so a report is either fully
recorded (messages + covered batches) or not at all.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from citydata.bootstrap import ensure_schema
from citydata.config import settings
from citydata.notify import alerts, digest, facts, outbox, quality
from citydata.notify.outbox import _safe
from citydata.registry import Registry, load_registry
from citydata.warehouse.db import transaction

log = logging.getLogger(__name__)


@dataclass
class Prepared:
    """Report keys composed by this call (empty: nothing new to tell)."""

    reports: list[str] = field(default_factory=list)
    messages: int = 0
    files: list[Path] = field(default_factory=list)


def _archive(msgs: list[EmailMessage], html: str | None, report_key: str, department: str | None,
             now: dt.datetime) -> list[Path]:
    """Keep a copy on disk under reports/notifications/ (the warehouse row is the source of truth)."""
    if not msgs:
        return []
    folder = settings().reports_dir / "notifications" / (department or "_center") / now.strftime("%Y-%m-%d")
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    if html is not None:
        path = folder / f"{_safe(report_key)}.html"
        path.write_text(html, encoding="utf-8")
        out.append(path)
    out.append(outbox.write_eml(msgs[0], folder))
    return out


def prepare_department(department: str, *, run_id: str | None = None, registry: Registry | None = None,
                       url: str | None = None, now: dt.datetime | None = None,
                       freshness: bool = True) -> Prepared:
    """Compose the quality report (if any deliveries had problems), the digest (if due) and freshness alerts."""
    registry = registry or load_registry()
    url = url or settings().warehouse_url
    now = now or dt.datetime.now(dt.UTC)
    ensure_schema(registry, url)
    out = Prepared()
    with transaction(url) as conn:
        report = quality.compose(conn, registry, department, run_id=run_id, now=now)
        if report:
            out.messages += outbox.store(conn, report.messages, kind="quality", department=department, run_id=run_id,
                                         batch_ids=report.batch_ids, now=now)
            out.reports.append(report.report_key)
            out.files += _archive(report.messages, report.doc.html(), report.report_key, department, now)
        composed = digest.compose(conn, registry, department, now=now)
        if composed:
            key, msgs = composed
            out.messages += outbox.store(conn, msgs, kind="digest", department=department, run_id=run_id, now=now)
            out.reports.append(key)
            out.files += _archive(msgs, None, key, department, now)
        if freshness:
            msgs = alerts.freshness_alerts(registry, department, facts.last_landed(conn, department), now)
            if msgs and outbox.store(conn, msgs, kind="alert", department=department, run_id=run_id, now=now):
                out.messages += len(msgs)
                out.reports.append(str(msgs[0]["X-Citydata-Report"]))
    if out.reports:
        log.info("%s: composed %s (%d message(s))", department, ", ".join(out.reports), out.messages)
    return out


def store_alerts(messages: list[EmailMessage], *, registry: Registry | None = None, url: str | None = None,
                 run_id: str | None = None, department: str | None = None) -> int:
    """Store alert messages (rate or late-run) as pending; already known keys are left alone."""
    if not messages:
        return 0
    registry = registry or load_registry()
    url = url or settings().warehouse_url
    ensure_schema(registry, url)
    with transaction(url) as conn:
        return outbox.store(conn, messages, kind="alert", department=department, run_id=run_id)
