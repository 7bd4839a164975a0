"""Reporting periods: Asia/Shanghai calendar days, months, quarters and years, as UTC half-open ranges.

A record belongs to period P when its event time t_event falls in [P.start, P.end). A period
that has not ended yet is *in progress*: it is measured up to ``as_of`` (the time of the
computation) and stored with ``complete = False`` until a later run recomputes it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from citydata.domain.time import LOCAL_TZ
from citydata.errors import CitydataError

PERIOD_TYPES = ("day", "month", "quarter", "year")


@dataclass(frozen=True)
class Period:
    kind: str  # day | month | quarter | year
    key: str  # 2026-11-28 | 2026-11 | 2026-Q4 | 2026
    start: dt.datetime  # UTC, inclusive
    end: dt.datetime  # UTC, exclusive

    @property
    def first_day(self) -> dt.date:
        return self.start.astimezone(LOCAL_TZ).date()

    @property
    def last_day(self) -> dt.date:
        return (self.end.astimezone(LOCAL_TZ) - dt.timedelta(days=1)).date()

    def measured_until(self, as_of: dt.datetime) -> dt.datetime:
        """The end of what can be measured: the period end, or ``as_of`` while in progress."""
        return min(self.end, as_of)

    def complete(self, as_of: dt.datetime) -> bool:
        return as_of >= self.end

    def days(self) -> list[dt.date]:
        d, out = self.first_day, []
        while d <= self.last_day:
            out.append(d)
            d += dt.timedelta(days=1)
        return out


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), LOCAL_TZ).astimezone(dt.UTC)


def period_for(kind: str, day: dt.date) -> Period:
    """The day, month, quarter or year (Shanghai calendar) that contains ``day``."""
    if kind == "day":
        return Period("day", day.isoformat(), _midnight(day), _midnight(day + dt.timedelta(days=1)))
    if kind == "month":
        first = day.replace(day=1)
        nxt = (first + dt.timedelta(days=32)).replace(day=1)
        return Period("month", first.strftime("%Y-%m"), _midnight(first), _midnight(nxt))
    if kind == "quarter":
        q = (day.month - 1) // 3
        first = dt.date(day.year, 3 * q + 1, 1)
        nxt = dt.date(day.year + 1, 1, 1) if q == 3 else dt.date(day.year, 3 * q + 4, 1)
        return Period("quarter", f"{day.year}-Q{q + 1}", _midnight(first), _midnight(nxt))
    if kind == "year":
        return Period("year", str(day.year), _midnight(dt.date(day.year, 1, 1)), _midnight(dt.date(day.year + 1, 1, 1)))
    raise CitydataError(f"unknown period {kind!r}: use one of {', '.join(PERIOD_TYPES)}")


def parse_period(text: str) -> Period:
    """'2026-11-28' → day, '2026-11' → month, '2026-Q4' → quarter, '2026' → year."""
    text = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return period_for("day", dt.date.fromisoformat(text))
        if re.fullmatch(r"\d{4}-\d{2}", text):
            return period_for("month", dt.date.fromisoformat(text + "-01"))
        if re.fullmatch(r"\d{4}", text):
            return period_for("year", dt.date(int(text), 1, 1))
        m = re.fullmatch(r"(\d{4})-?[Qq]([1-4])", text)
        if m:
            return period_for("quarter", dt.date(int(m.group(1)), 3 * int(m.group(2)) - 2, 1))
    except ValueError:
        pass
    raise CitydataError(f"bad period {text!r}: expected YYYY-MM-DD, YYYY-MM, YYYY-Qn or YYYY")


def today_shanghai(now: dt.datetime | None = None) -> dt.date:
    return (now or dt.datetime.now(dt.UTC)).astimezone(LOCAL_TZ).date()


def parse_date(text: str | None, now: dt.datetime | None = None) -> dt.date:
    if not text:
        return today_shanghai(now)
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CitydataError(f"bad date {text!r}: expected YYYY-MM-DD") from None


def shanghai_iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(LOCAL_TZ).isoformat(timespec="seconds") if value else None
