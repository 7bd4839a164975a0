"""Alerts to engineers about access requests past their due dates (added to kpi_rates' notify step)."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage

from citydata.exchange.access import overdue
from citydata.exchange.mail import consumer_label, t
from citydata.kpi.compute import ready
from citydata.notify.alerts import engineers
from citydata.notify.document import Doc
from citydata.notify.i18n import local_time
from citydata.notify.message import build, short_hash
from citydata.registry import Registry, load_registry
from citydata.warehouse.db import engine


def overdue_messages(registry: Registry, late: list[dict], now: dt.datetime) -> list[EmailMessage]:
    """One alert per set of overdue requests (and stage) to the engineers; [] when none is overdue."""
    if not late:
        return []
    lang = registry.alerts.language
    doc = Doc(t(lang, "overdue.title"))
    doc.table([t(lang, k) for k in ("col.id", "col.consumer", "col.code", "col.stage", "col.due")],
              [[r["request_id"], consumer_label(registry, r["consumer"], lang), r["code"],
                t(lang, f"stage.{r['overdue_stage']}"), local_time(r["due_at"])] for r in late])
    doc.para(t(lang, "footer"), tone="note")
    key = "alert:exchange-overdue:" + short_hash(*sorted(f"{r['request_id']}:{r['overdue_stage']}" for r in late))
    return [build(report_key=key, kind="alert", department=None, recipient=r,
                  subject=t(lang, "overdue.subject", n=len(late)), text=doc.text(), html=doc.html(), lang=lang,
                  now=now) for r in engineers(registry)]


def overdue_alerts(registry: Registry | None = None, url: str | None = None,
                   now: dt.datetime | None = None) -> list[EmailMessage]:
    """Alerts to engineers about overdue requests (what the kpi_rates DAG's notify step adds to its own)."""
    registry = registry or load_registry()
    now = now or dt.datetime.now(dt.UTC)
    ready(registry, url)  # the exchange tables exist before they are read
    with engine(url).connect() as conn:
        return overdue_messages(registry, overdue(conn, now), now)
