"""What one kpi_rates / kpi_reports run computes, decided without Airflow (so it is testable).

kpi_rates (daily cron and core-asset events):
- a scheduled, manual or backfill run with logical date L computes the Asia/Shanghai day of L
  and the day before it (so the 00:20 run finalises the day that just ended), plus the month
  and quarter containing each of those days. `airflow dags test kpi_rates 2026-11-10` or a
  backfill over past dates therefore recomputes exactly those past days.
- an asset-triggered run (new data landed) recomputes the current day and every day the new
  data's events fall in (late data lands in past days), with every period containing each of
  them (month, quarter, … every kind in PERIOD_TYPES), so no view stays stale until the cron.
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

from sqlalchemy import Connection, text

from citydata.domain.time import LOCAL_TZ
from citydata.kpi.periods import PERIOD_TYPES, Period, period_for
from citydata.warehouse.db import engine, sql_file
from citydata.warehouse.load import ts_param

# How far back an asset-triggered run looks for new batches when nothing was computed yet, and
# the overlap with the last computation (a batch landing while it ran is not missed).
FIRST_LOOKBACK = dt.timedelta(days=1)
OVERLAP = dt.timedelta(hours=1)


def rate_periods(logical_date: dt.datetime | None, run_after: dt.datetime, asset_triggered: bool,
                 override: str | None = None, touched: list[dt.date] | None = None) -> list[Period]:
    """The periods a run computes; ``touched``: the event days of new data (asset-triggered runs)."""
    if override:
        day = dt.date.fromisoformat(override)
        days = [day - dt.timedelta(days=1), day]
    elif asset_triggered or logical_date is None:
        days = sorted({run_after.astimezone(LOCAL_TZ).date(), *(touched or [])})
    else:
        day = logical_date.astimezone(LOCAL_TZ).date()
        days = [day - dt.timedelta(days=1), day]
    out: list[Period] = []
    for kind in PERIOD_TYPES:
        for d in days:
            p = period_for(kind, d)
            if p not in out:
                out.append(p)
    return out


def touched_days(url: str | None = None, since: dt.datetime | None = None) -> list[dt.date]:
    """Shanghai days of the events of batches landed since ``since`` (default: the last computation)."""
    from citydata.kpi.compute import ready
    from citydata.registry import load_registry

    ready(load_registry(), url)
    with engine(url).connect() as conn:
        d = conn.dialect.name
        if since is None:
            last = _last_computed(conn)
            since = last - OVERLAP if last else dt.datetime.now(dt.UTC) - FIRST_LOOKBACK
        local_day = ("CAST((e.t_event AT TIME ZONE 'Asia/Shanghai') AS DATE)" if d == "postgresql"
                     else "date(substr(e.t_event, 1, 19), '+8 hours')")
        rows = conn.execute(text(sql_file("kpi/touched_days.sql", d, local_day=local_day)),
                            {"since": ts_param(since, d)}).scalars().all()
    return sorted(r if isinstance(r, dt.date) else dt.date.fromisoformat(str(r)) for r in rows if r is not None)


def _last_computed(conn: Connection) -> dt.datetime | None:
    value = conn.execute(text(sql_file("kpi/last_computed.sql", conn.dialect.name))).scalar()
    if value is None:
        return None
    value = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


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
