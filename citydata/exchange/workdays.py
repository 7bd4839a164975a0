"""Working days (工作日) for request due dates, in Asia/Shanghai.

Monday to Friday, minus the dates in CITYDATA_HOLIDAYS (comma separated YYYY-MM-DD: the State
Council's public holidays), plus CITYDATA_WORKDAYS (weekend days made working days, 调休).
A due date is the end of the n-th working day after the day a request arrived.
"""

from __future__ import annotations

import datetime as dt
import os

from citydata.domain.time import LOCAL_TZ
from citydata.errors import CitydataError

REVIEW_DAYS = 2   # data office review (数据主管部门审核)
ANSWER_DAYS = 5   # provider answer (提供方答复)


def _dates(var: str) -> set[dt.date]:
    out = set()
    for part in (os.environ.get(var) or "").split(","):
        if part.strip():
            try:
                out.add(dt.date.fromisoformat(part.strip()))
            except ValueError:
                raise CitydataError(f"{var}: {part.strip()!r} is not a date (YYYY-MM-DD)") from None
    return out


def is_working_day(day: dt.date) -> bool:
    if day in _dates("CITYDATA_WORKDAYS"):
        return True
    return day.weekday() < 5 and day not in _dates("CITYDATA_HOLIDAYS")


def due_after(start: dt.datetime, working_days: int) -> dt.datetime:
    """End (24:00 Shanghai) of the n-th working day after start's local date, as UTC."""
    day = start.astimezone(LOCAL_TZ).date()
    left = working_days
    while left > 0:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            left -= 1
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), LOCAL_TZ)
    return end.astimezone(dt.UTC)
