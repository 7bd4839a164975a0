"""Behaviour models: how much water/gas a meter has counted by time t, how full a lot is, when people visit.

Closed-form so that any delivery (and the mock API and database) can compute a value for
any time without replaying history, and cumulative readings never decrease for a meter:
the cumulative reading is the integral of a non-negative rate.
"""

from __future__ import annotations

import datetime as dt
import math

from citydata.domain.time import LOCAL_TZ

LOCAL = LOCAL_TZ  # the generators' name for it
EPOCH = dt.datetime(2020, 1, 1, tzinfo=LOCAL_TZ)

# (amplitude, period in days, phase in days): rate(t) = 1 + Σ a·cos(2π(t − phase)/period) ≥ 0.
# Water: morning (07:30) and evening (19:30) peaks, low at night.
WATER_RATE = ((0.55, 0.5, 19.5 / 24), (0.35, 1.0, 14 / 24))
# Gas: winter heating peak (mid-January), evening cooking peak, a smaller morning one.
GAS_RATE = ((0.55, 365.25, 15.0), (0.30, 1.0, 18.5 / 24), (0.12, 0.5, 7 / 24))


def local_days(t: dt.datetime) -> float:
    """Days since EPOCH in county local time."""
    return (t - EPOCH).total_seconds() / 86400


def rate(components: tuple, t: dt.datetime) -> float:
    d = local_days(t)
    return 1 + sum(a * math.cos(2 * math.pi * (d - ph) / p) for a, p, ph in components)


def cumulative(components: tuple, t: dt.datetime) -> float:
    """∫ rate from EPOCH to t, in days of average use (non-decreasing in t)."""
    d = local_days(t)
    total = d
    for a, p, ph in components:
        k = 2 * math.pi / p
        total += a / k * (math.sin(k * (d - ph)) - math.sin(k * (0 - ph)))
    return total


# Parking occupancy share by local hour, weekday (Mon–Fri) and weekend.
_CITY_WEEKDAY = (0.18, 0.15, 0.13, 0.12, 0.12, 0.15, 0.25, 0.45, 0.72, 0.85, 0.88, 0.80,
                 0.70, 0.74, 0.82, 0.86, 0.84, 0.74, 0.62, 0.55, 0.45, 0.35, 0.27, 0.21)
_CITY_WEEKEND = (0.20, 0.17, 0.15, 0.14, 0.14, 0.15, 0.18, 0.25, 0.38, 0.52, 0.63, 0.66,
                 0.64, 0.62, 0.63, 0.64, 0.62, 0.58, 0.55, 0.52, 0.45, 0.36, 0.28, 0.23)
_SCENIC_WEEKDAY = tuple(round(x * 0.55, 3) for x in _CITY_WEEKEND)
_SCENIC_WEEKEND = (0.05, 0.04, 0.04, 0.04, 0.04, 0.05, 0.10, 0.28, 0.55, 0.78, 0.92, 0.95,
                   0.93, 0.94, 0.92, 0.85, 0.70, 0.48, 0.30, 0.20, 0.14, 0.10, 0.07, 0.06)


def occupancy_share(t: dt.datetime, scenic: bool) -> float:
    lt = t.astimezone(LOCAL_TZ)
    weekend = lt.weekday() >= 5
    table = (_SCENIC_WEEKEND if weekend else _SCENIC_WEEKDAY) if scenic else (_CITY_WEEKEND if weekend else _CITY_WEEKDAY)
    h, frac = lt.hour, lt.minute / 60
    return table[h] * (1 - frac) + table[(h + 1) % 24] * frac


def entry_weight(t: dt.datetime) -> float:
    """Relative rate of cars entering lots (peaks before the occupancy peaks)."""
    lt = t.astimezone(LOCAL_TZ)
    h = lt.hour
    base = (0.1, 0.05, 0.03, 0.03, 0.05, 0.2, 0.6, 1.6, 2.0, 1.6, 1.3, 1.2,
            1.1, 1.3, 1.5, 1.6, 1.5, 1.7, 1.4, 1.0, 0.8, 0.5, 0.3, 0.15)[h]
    return base * (0.85 if lt.weekday() >= 5 else 1.0)


# Clinic visits: Monday busiest, Sunday quietest; mornings busiest.
VISIT_WEEKDAY = (1.35, 1.15, 1.05, 1.0, 1.0, 0.75, 0.55)
VISIT_HOUR = (0.05, 0.04, 0.03, 0.03, 0.04, 0.08, 0.3, 1.2, 2.6, 2.8, 2.4, 1.6,
              0.6, 0.9, 1.9, 2.0, 1.7, 1.0, 0.45, 0.35, 0.3, 0.2, 0.12, 0.08)


def visit_weight(t: dt.datetime) -> float:
    lt = t.astimezone(LOCAL_TZ)
    return VISIT_WEEKDAY[lt.weekday()] * VISIT_HOUR[lt.hour]
