"""What one kpi_rates / kpi_reports run computes, decided without Airflow (so it is testable).

kpi_rates (daily cron and core-asset events):
- a scheduled, manual or backfill run with logical date L computes the Asia/Shanghai day of L
  and the day before it (so the 00:20 run finalises the day that just ended), plus the month
  and quarter containing each of those days. `airflow dags test kpi_rates 2026-11-10` or a
  backfill over past dates therefore recomputes exactly those past days.
- an asset-triggered run (new data landed) recomputes only the current day (in progress);
  the month and quarter follow at the next cron run.
kpi_reports (cron 06:00 every day, Shanghai; most days nothing is due):
- from the registry's ``leadership.monthly_day`` (default 25) to the 27th: the current month's
  progress report, written and sent to the leadership (by the 28th, per the plan);
- on the 1st: the final report of the month that just ended (written, not sent again);
- in the first SEND_WINDOW_DAYS days of Jan/Apr/Jul/Oct: the bulletin of the quarter that just
  ended, and in the first days of January the yearly assessment report — written and sent.
A report is sent once per recipient (citydata.notify.leadership); repeating it on the following
days only catches a missed run (scheduler down on the due day).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from citydata.domain.time import LOCAL_TZ
from citydata.kpi.periods import Period, period_for


def rate_periods(logical_date: dt.datetime | None, run_after: dt.datetime, asset_triggered: bool,
                 override: str | None = None) -> list[Period]:
    if override:
        day = dt.date.fromisoformat(override)
        days = [day - dt.timedelta(days=1), day]
    elif asset_triggered or logical_date is None:
        return [period_for("day", run_after.astimezone(LOCAL_TZ).date())]
    else:
        day = logical_date.astimezone(LOCAL_TZ).date()
        days = [day - dt.timedelta(days=1), day]
    out: list[Period] = []
    for kind in ("day", "month", "quarter"):
        for d in days:
            p = period_for(kind, d)
            if p not in out:
                out.append(p)
    return out


def run_kpi_rates(periods: list[Period], now: dt.datetime | None = None) -> list[dict]:
    """Publish anything still unpublished, then compute each period that has started."""
    from citydata.kpi.compute import compute_period
    from citydata.registry import load_registry
    from citydata.share.publish import publish_all

    registry = load_registry()
    publish_all(registry)
    now = now or dt.datetime.now(dt.UTC)
    return [compute_period(p, registry, as_of=now) for p in periods if p.start < now]


SEND_WINDOW_DAYS = 7


@dataclass(frozen=True)
class DueReport:
    key: str  # YYYY-MM | YYYY-Qn | YYYY
    send: bool  # to the leadership, besides writing it


def due_reports(logical_date: dt.datetime, monthly_day: int = 25, override: str | None = None) -> list[DueReport]:
    """The reports a kpi_reports run writes (and sends) on the Shanghai day of ``logical_date``."""
    if override:
        return [DueReport(override, True)]
    day = logical_date.astimezone(LOCAL_TZ).date()
    out: list[DueReport] = []
    if monthly_day <= day.day <= 27:
        out.append(DueReport(period_for("month", day).key, True))
    if day.day == 1:
        out.append(DueReport(period_for("month", day - dt.timedelta(days=1)).key, False))
    if day.month in (1, 4, 7, 10) and day.day <= SEND_WINDOW_DAYS:
        previous = day.replace(day=1) - dt.timedelta(days=1)
        out.append(DueReport(period_for("quarter", previous).key, True))
        if day.month == 1:
            out.append(DueReport(period_for("year", previous).key, True))
    return out


def report_keys(logical_date: dt.datetime, override: str | None = None, monthly_day: int = 25) -> list[str]:
    return [r.key for r in due_reports(logical_date, monthly_day, override)]


def run_reports(keys: list[str]) -> list[str]:
    from citydata.reports.kpi_report import write_kpi_report

    return [str(write_kpi_report(k)) for k in keys]
