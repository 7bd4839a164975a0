"""The daily digest for departments that opted in (registry ``digest: true``).

Composed by the first notification run after local midnight (Asia/Shanghai) for the day
before, so it needs no schedule of its own and is composed once (its key is the day).
"""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage

from sqlalchemy import Connection

from citydata.domain.time import LOCAL_TZ
from citydata.notify import facts
from citydata.notify.document import Doc
from citydata.notify.i18n import dept_label, resource_label, t
from citydata.notify.message import build
from citydata.notify.outbox import report_exists
from citydata.registry import Registry


def due_day(now: dt.datetime) -> dt.date:
    """The local day a digest composed now summarises: yesterday in Asia/Shanghai."""
    return now.astimezone(LOCAL_TZ).date() - dt.timedelta(days=1)


def digest_key(department: str, day: dt.date) -> str:
    return f"digest:{department}:{day.isoformat()}"


def compose(conn: Connection, registry: Registry, department: str, *, day: dt.date | None = None,
            now: dt.datetime | None = None, force: bool = False) -> tuple[str, list[EmailMessage]] | None:
    """(report key, messages) of the department's digest for ``day``; None if not opted in or already composed."""
    now = now or dt.datetime.now(dt.UTC)
    dept = registry.department(department)
    if not (dept.digest or force) or not dept.owner_emails:
        return None
    day = day or due_day(now)
    key = digest_key(department, day)
    if report_exists(conn, key):
        return None
    start = dt.datetime.combine(day, dt.time(0), LOCAL_TZ)
    deliveries = facts.deliveries_between(conn, department, start, start + dt.timedelta(days=1))
    lang = dept.language
    loaded = sum(d.rows_loaded for d in deliveries)
    quarantined = sum(d.rows_quarantined for d in deliveries)
    doc = Doc(t(lang, "digest.title", dept=dept_label(dept, lang), day=day.isoformat()))
    doc.para(t(lang, "digest.intro", provider=dept.provider, day=day.isoformat()))
    if not deliveries:
        doc.para(t(lang, "digest.none"), tone="warn")
    else:
        per: dict[str, list[int]] = {}
        problems = 0
        for d in deliveries:
            agg = per.setdefault(d.resource, [0, 0, 0, 0, 0, 0])
            agg[0] += 1
            agg[1] += d.rows_read
            agg[2] += d.rows_loaded
            agg[3] += d.rows_quarantined
            agg[4] += d.rows_duplicate
            agg[5] += d.status == "rejected"
            problems += d.status == "rejected" or d.rows_quarantined > 0
        rows = []
        for name, agg in sorted(per.items()):
            res = dept.resources.get(name)
            rows.append([resource_label(res, lang) if res else name, *agg])
        totals = [sum(a[i] for a in per.values()) for i in range(6)]
        rows.append([t(lang, "digest.total"), *totals])
        files = "交付数" if lang != "en" else "Deliveries"
        rejected = "拒收文件" if lang != "en" else "Rejected"
        doc.table([t(lang, "col.resource"), files, t(lang, "col.read"), t(lang, "col.loaded"),
                   t(lang, "col.quarantined"), t(lang, "col.duplicate"), rejected], rows)
        doc.para(t(lang, "digest.problems", n=problems) if problems else t(lang, "digest.clean"))
    subject = t(lang, "digest.subject", dept=dept_label(dept, lang), day=day.isoformat(), n=len(deliveries),
                loaded=loaded, q=quarantined)
    html, text = doc.html(), doc.text()
    return key, [build(report_key=key, kind="digest", department=department, recipient=r, subject=subject, text=text,
                       html=html, lang=lang, now=now) for r in dept.owner_emails]
