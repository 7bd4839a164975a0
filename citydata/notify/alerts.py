"""Alerts to the data center's engineers: rates under target, stale real-time resources, late runs.

Each alert has a key built from the situation it reports (the failing rates of a period,
the stale resources with their last landing, the late run), so the same situation is
reported once however often the checks run.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from email.message import EmailMessage

from citydata.errors import CitydataError
from citydata.kpi.periods import parse_period
from citydata.kpi.read import build_rows, stored
from citydata.notify.document import Doc
from citydata.notify.i18n import dept_label, local_time, resource_label, t
from citydata.notify.message import build, short_hash
from citydata.registry import EMAIL, Registry, load_registry
from citydata.render.fmt import pct

log = logging.getLogger(__name__)
ENV_RECIPIENTS = "CITYDATA_ALERT_EMAILS"


def engineers(registry: Registry) -> list[str]:
    """CITYDATA_ALERT_EMAILS (comma separated) if set, else the registry's alerts.engineers."""
    env = os.environ.get(ENV_RECIPIENTS)
    if env is not None:
        out = [e.strip() for e in env.split(",") if e.strip()]
        bad = [e for e in out if not EMAIL.match(e)]
        if bad:
            raise CitydataError(f"{ENV_RECIPIENTS}: {bad[0]!r} is not an email address")
        return out
    return list(registry.alerts.engineers)


def _messages(registry: Registry, report_key: str, subject: str, doc: Doc, department: str | None,
              now: dt.datetime) -> list[EmailMessage]:
    lang = registry.alerts.language
    doc.para(t(lang, "alert.footer"), tone="note")
    rcpts = engineers(registry)
    if not rcpts:
        log.warning("alert %s not sent: no engineers (registry alerts.engineers or %s)", report_key, ENV_RECIPIENTS)
    html, text = doc.html(), doc.text()
    return [build(report_key=report_key, kind="alert", department=department, recipient=r, subject=subject,
                  text=text, html=html, lang=lang, now=now) for r in rcpts]


def rate_alerts(kpi_rows: list[dict], registry: Registry | None = None,
                now: dt.datetime | None = None) -> list[EmailMessage]:
    """Messages (one per engineer) listing every rate below target; [] when all are met.

    kpi_rows: the `citydata kpi --json` shape (department or "county", period, collection_rate,
    sharing_rate, target, collection_met, sharing_met; optional period_start, complete). Rows of a
    period still in progress (complete: false) are skipped.
    """
    registry = registry or load_registry()
    now = now or dt.datetime.now(dt.UTC)
    lang = registry.alerts.language
    below = []
    for row in kpi_rows:
        if row.get("complete") is False:
            continue  # a period still in progress is not judged yet (a day at 00:05 has hardly any data)
        for metric in ("collection_rate", "sharing_rate"):
            met = row.get(metric.replace("_rate", "_met"))
            if met is False or (met is None and row.get(metric) is not None and row.get("target") is not None
                                and float(row[metric]) < float(row["target"])):
                below.append((row, metric))
    if not below:
        return []
    rows, parts = [], []
    for row, metric in below:
        name = row.get("department")
        label = t(lang, "county") if name in (None, "county") else (
            dept_label(registry.departments[name], lang) if name in registry.departments else str(name))
        period = str(row.get("period") or "")
        when = "" if period[:4].isdigit() else str(row.get("period_start") or row.get("date") or "")[:10]
        period = f"{period} {when}".strip()
        target = row.get(metric.replace("_rate", "_target"), row.get("target"))
        rows.append([label, period, t(lang, f"metric.{metric}"), pct(row.get(metric)), pct(target)])
        parts.append((name, period, metric))
    doc = Doc(t(lang, "alert.rate.title"))
    doc.para(t(lang, "alert.rate.intro"))
    doc.table([t(lang, k) for k in ("col.department", "col.period", "col.metric", "col.value_rate", "col.target")],
              rows)
    key = f"alert:rate:{short_hash(*sorted(map(str, parts)))}"
    return _messages(registry, key, t(lang, "alert.rate.subject", n=len(below)), doc, None, now)


def stale_resources(registry: Registry, department: str, last: dict[str, dt.datetime | None],
                    now: dt.datetime) -> list[tuple]:
    """Resources declaring 实时 whose last landing is older than interval + grace (or that never landed)."""
    out = []
    for res in registry.department(department).resources.values():
        if res.update_cycle != "实时":
            continue
        window = dt.timedelta(minutes=res.interval_minutes + res.grace_minutes)
        landed = last.get(res.name)
        if landed is None or now - landed > window:
            out.append((res, landed, window))
    return out


def freshness_alerts(registry: Registry, department: str, last: dict[str, dt.datetime | None],
                     now: dt.datetime | None = None) -> list[EmailMessage]:
    """One alert per stale episode: the key holds each stale resource's last landing time."""
    now = now or dt.datetime.now(dt.UTC)
    stale = stale_resources(registry, department, last, now)
    if not stale:
        return []
    lang = registry.alerts.language
    dept = registry.department(department)
    doc = Doc(t(lang, "alert.fresh.title", dept=dept_label(dept, lang)))
    doc.para(t(lang, "alert.fresh.intro", time=local_time(now)))
    rows = []
    for res, landed, window in stale:
        age = "—" if landed is None else int((now - landed).total_seconds() // 60)
        rows.append([f"{resource_label(res, lang)}（{res.name}）", res.update_cycle, int(window.total_seconds() // 60),
                     local_time(landed) if landed else t(lang, "alert.fresh.never"), age])
    doc.table([t(lang, k) for k in ("col.resource", "col.cycle", "col.window", "col.last", "col.age")], rows)
    for res, _landed, _window in stale:
        missing = res.missing_setting()
        if missing:  # the pull was skipped, not late: say which setting is missing
            doc.para(t(lang, "alert.fresh.unconfigured", resource=f"{resource_label(res, lang)}（{res.name}）",
                       setting=missing))
    key = "alert:fresh:" + department + ":" + short_hash(*[f"{r.name}@{ts.isoformat() if ts else 'never'}"
                                                          for r, ts, _ in stale])
    return _messages(registry, key, t(lang, "alert.fresh.subject", dept=dept_label(dept, lang), n=len(stale)),
                     doc, department, now)


def late_run_alert(registry: Registry, dag_id: str, run_id: str, deadline: dt.datetime | None = None,
                   minutes: int | None = None, now: dt.datetime | None = None) -> list[EmailMessage]:
    """An ingest DAG run that missed its deadline (sent from the Deadline Alert callback)."""
    now = now or dt.datetime.now(dt.UTC)
    lang = registry.alerts.language
    minutes = minutes or registry.alerts.ingest_deadline_minutes
    doc = Doc(t(lang, "alert.late.title"))
    doc.para(t(lang, "alert.late.intro", dag=dag_id, run=run_id, minutes=minutes, deadline=local_time(deadline)))
    department = dag_id.removeprefix("ingest_") if dag_id.startswith("ingest_") else None
    return _messages(registry, f"alert:late:{dag_id}:{short_hash(run_id)}", t(lang, "alert.late.subject", dag=dag_id),
                     doc, department, now)


def completed_kpi_rows(computed: list[dict]) -> list[dict]:
    """The `citydata kpi --json` rows of the complete periods a kpi_rates run just computed."""
    registry = load_registry()
    rows: list[dict] = []
    for c in computed:
        if c.get("complete"):
            period = parse_period(str(c["period"]))
            rows += build_rows(period, stored(period), registry)
    return rows
