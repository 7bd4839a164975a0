"""The indicator reports the leadership receives (seed §四(四)): monthly progress, quarterly, yearly.

Each report is one message per recipient of the registry's ``leadership:`` section, stored in
quality.notifications (kind ``report``) under the key ``leadership:<kind>:<period>|<recipient>``;
that unique key is the record of the send, so a period's report reaches a recipient once
however often the DAG runs. Delivery marks a message sent right after the SMTP server accepted
it: a worker killed between the two resends it on the next run (at-least-once; the Message-ID
is stable, so a mail client shows one message). The body summarises the county against the
targets; the whole report (the same HTML as ``citydata report``) is attached.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from email.message import EmailMessage

from sqlalchemy import text

from citydata.bootstrap import ensure_schema
from citydata.config import settings
from citydata.kpi.periods import Period, parse_period
from citydata.kpi.read import build_rows, stored
from citydata.notify import outbox
from citydata.notify.document import Doc
from citydata.notify.i18n import local_time, t
from citydata.notify.message import Attachment, build
from citydata.registry import Registry, load_registry
from citydata.render.fmt import pct
from citydata.reports.kpi_report import write_kpi_report
from citydata.warehouse.db import sql_file, transaction

log = logging.getLogger(__name__)
KIND = "report"


def report_key(period: Period) -> str:
    return f"leadership:{period.kind}:{period.key}"


@dataclass
class Prepared:
    report_key: str
    stored: int = 0
    recipients: list[str] = field(default_factory=list)


def _known_recipients(url: str, key: str) -> set[str]:
    with transaction(url) as conn:
        rows = conn.execute(text(sql_file("notify/report_recipients.sql", conn.dialect.name)), {"report_key": key})
        return {str(r.recipient).lower() for r in rows}


def _met(value: bool | None, lang: str) -> str:
    return "—" if value is None else t(lang, "report.met" if value else "report.notmet")


def compose(period: Period, registry: Registry, recipients: list[str], *, url: str | None = None,
            now: dt.datetime | None = None) -> list[EmailMessage]:
    """One message per recipient: the county and departments against the targets, the full report attached."""
    now = now or dt.datetime.now(dt.UTC)
    lead = registry.leadership
    lang = lead.language
    path = write_kpi_report(period.key, lang=lang, registry=registry, url=url)
    rows = build_rows(period, stored(period, url), registry)
    county = rows[-1] if rows else None
    kind_label = t(lang, f"report.kind.{period.kind}")
    doc = Doc(t(lang, "report.title", kind=kind_label, period=period.key))
    doc.para(t(lang, "report.greeting", office=lead.name_en if lang == "en" else lead.name_zh))
    state = (t(lang, "report.complete") if county and county["complete"] else
             t(lang, "report.progress", until=county["measured_until"] if county else "—"))
    doc.para(t(lang, "report.intro", kind=kind_label, period=period.key, state=state))
    targets = registry.targets
    if county:
        doc.heading(t(lang, "report.county"))
        doc.table([t(lang, "col.metric"), t(lang, "col.value_rate"), t(lang, "col.target"), t(lang, "report.status")], [
            [t(lang, "metric.collection_rate"), pct(county["collection_rate"]), pct(targets.collection_rate),
             _met(county["collection_met"], lang)],
            [t(lang, "metric.sharing_rate"), pct(county["sharing_rate"]), pct(targets.sharing_rate),
             _met(county["sharing_met"], lang)],
            [t(lang, "metric.energy"), pct(county["energy_auto_coverage"]), pct(targets.energy_auto_coverage),
             _met(county["energy_met"], lang)],
        ])
        doc.heading(t(lang, "report.departments"))
        doc.table([t(lang, "col.department"), t(lang, "metric.collection_rate"), t(lang, "report.status"),
                   t(lang, "metric.sharing_rate"), t(lang, "report.status")],
                  [[r["department_zh"] if lang != "en" and r["department"] != "county" else
                    (t(lang, "county") if r["department"] == "county" else r["department"]),
                    pct(r["collection_rate"]), _met(r["collection_met"], lang),
                    pct(r["sharing_rate"]), _met(r["sharing_met"], lang)] for r in rows[:-1]])
    else:
        doc.para(t(lang, "report.nodata"), tone="warn")
    doc.para(t(lang, "report.attached", name=path.name))
    doc.para(t(lang, "report.footer", report=report_key(period)), tone="note")
    subject = t(lang, f"report.subject.{period.kind}", period=period.key) + f" · {local_time(now)}"
    attachment = Attachment(path.name, path.read_bytes(), "text", "html", "utf-8")
    html, plain = doc.html(), doc.text()
    return [build(report_key=report_key(period), kind=KIND, department=None, recipient=r, subject=subject,
                  text=plain, html=html, lang=lang, attachments=[attachment], now=now) for r in recipients]


def prepare(period_key: str, *, registry: Registry | None = None, url: str | None = None,
            run_id: str | None = None, now: dt.datetime | None = None) -> Prepared:
    """Store the period's report for every leadership recipient who has not got it yet (a no-op after that)."""
    registry = registry or load_registry()
    url = url or settings().warehouse_url
    period = parse_period(period_key)
    key = report_key(period)
    out = Prepared(key)
    wanted = list(registry.leadership.recipients)
    if not wanted:
        log.warning("report %s not sent: the registry's leadership section lists no recipients", key)
        return out
    ensure_schema(registry, url)
    known = _known_recipients(url, key)
    missing = [r for r in wanted if r.lower() not in known]
    if not missing:
        return out  # composed (and sent or pending) before: nothing new
    messages = compose(period, registry, missing, url=url, now=now)
    with transaction(url) as conn:
        out.stored = outbox.store(conn, messages, kind=KIND, department=None, run_id=run_id, now=now)
    out.recipients = missing
    log.info("report %s stored for %d recipient(s)", key, out.stored)
    return out
