"""Allowed values of the departments' fields: enumerations, code formats and numeric ranges.

One place for the generators (which only emit these values), the defect injector (which
breaks them on purpose) and the quality suites (which check them). Keyed by
'<department>.<resource>' then field name. Fields not listed here are free text.

Code formats: meters SW|RQ + 2-digit township code + 8-digit serial; lots TC + township +
4 digits; institutions YL + township + 3 digits; plates 鲁Q-style (any province, but the
mock emits mostly Linyi's 鲁Q); citizen IDs: 18 chars with a valid MOD 11-2 check digit
(use citydata.domain.ids.is_valid_citizen_id, the pattern alone is not enough).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from citydata.domain.ids import is_valid_citizen_id
from citydata.domain.townships import COUNTY_BBOX, NAMES


@dataclass(frozen=True)
class Enum:
    values: tuple[str, ...]
    labels_zh: tuple[str, ...] = ()


@dataclass(frozen=True)
class Pattern:
    regex: str
    check: str | None = None  # name of an extra validator in citydata.domain.ids ("citizen_id")


@dataclass(frozen=True)
class Range:
    min: float | None = None
    max: float | None = None
    max_column: str | None = None  # upper bound is another column of the same row (occupied <= capacity)


Rule = Enum | Pattern | Range

PATTERNS = {
    "water_meter_id": r"^SW(0[1-9]|1[0-7])\d{8}$",
    "gas_meter_id": r"^RQ(0[1-9]|1[0-7])\d{8}$",
    "lot_id": r"^TC(0[1-9]|1[0-7])\d{4}$",
    "institution_id": r"^YL(0[1-9]|1[0-7])\d{3}$",
    "plate_no": r"^[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-HJ-NP-Z]([A-HJ-NP-Z0-9]{5}|[DF][A-HJ-NP-Z0-9]\d{4})$",
    "citizen_id": r"^\d{17}[0-9X]$",
    "session_id": r"^PS\d{21}$",
    "visit_id": r"^JZ\d{19}$",
    "inspection_id": r"^AJ\d{12}$",
    "phone": r"^1[3-9]\d{9}$",
}

DISTRICT = Enum(NAMES)
READ_METHOD = Enum(("auto", "manual"), ("自动", "人工"))          # how one reading was taken
READ_MODE = Enum(("remote", "manual"), ("远传", "人工抄表"))      # how a meter is read (registry)
CUSTOMER_TYPE = Enum(("residential", "commercial"), ("居民", "非居民"))
METER_STATUS = Enum(("active", "inactive"), ("在用", "停用"))
SESSION_STATUS = Enum(("in", "out"), ("在场", "已出场"))
LOT_TYPE = Enum(("on_street", "off_street", "garage"), ("路内", "路外", "地下/立体车库"))
VISIT_TYPE = Enum(("outpatient", "inpatient", "emergency", "checkup"), ("门诊", "住院", "急诊", "体检"))
INSPECTION_RESULT = Enum(("pass", "fail", "rectify"), ("合格", "不合格", "限期整改"))
INSTITUTION_LEVEL = Enum(("三级", "二级", "一级", "未定级"))

_METERS = {
    "household_address": None,
    "district": DISTRICT,
    "customer_type": CUSTOMER_TYPE,
    "read_mode": READ_MODE,
    "status": METER_STATUS,
}


def _readings(id_pattern: str, max_m3: float) -> dict[str, Rule]:
    return {
        "meter_id": Pattern(PATTERNS[id_pattern]),
        "reading_m3": Range(0, max_m3),
        "battery_pct": Range(0, 100),
        "read_method": READ_METHOD,
        "district": DISTRICT,
    }


RULES: dict[str, dict[str, Rule]] = {
    "water.meter_readings": _readings("water_meter_id", 1_000_000),
    "water.meters": {"meter_id": Pattern(PATTERNS["water_meter_id"]),
                     **{k: v for k, v in _METERS.items() if v}},
    "gas.meter_readings": _readings("gas_meter_id", 1_000_000),
    "gas.meters": {"meter_id": Pattern(PATTERNS["gas_meter_id"]), **{k: v for k, v in _METERS.items() if v}},
    "gas.safety_inspections": {
        "inspection_id": Pattern(PATTERNS["inspection_id"]),
        "meter_id": Pattern(PATTERNS["gas_meter_id"]),
        "result": INSPECTION_RESULT,
        "hazard_level": Range(0, 3),
        "district": DISTRICT,
    },
    "parking.sessions": {
        "session_id": Pattern(PATTERNS["session_id"]),
        "lot_id": Pattern(PATTERNS["lot_id"]),
        "plate_no": Pattern(PATTERNS["plate_no"]),
        "fee_yuan": Range(0, 500),
        "status": SESSION_STATUS,
    },
    "parking.occupancy": {
        "lot_id": Pattern(PATTERNS["lot_id"]),
        "occupied": Range(0, None, max_column="capacity"),
        "capacity": Range(1, 5000),
    },
    "parking.lots": {
        "lot_id": Pattern(PATTERNS["lot_id"]),
        "district": DISTRICT,
        "capacity": Range(1, 5000),
        "lot_type": LOT_TYPE,
        "longitude": Range(COUNTY_BBOX[0], COUNTY_BBOX[2]),
        "latitude": Range(COUNTY_BBOX[1], COUNTY_BBOX[3]),
    },
    "health.card_visits": {
        "visit_id": Pattern(PATTERNS["visit_id"]),
        "citizen_id": Pattern(PATTERNS["citizen_id"], check="citizen_id"),
        "phone": Pattern(PATTERNS["phone"]),
        "institution_id": Pattern(PATTERNS["institution_id"]),
        "visit_type": VISIT_TYPE,
    },
    "health.institutions": {
        "institution_id": Pattern(PATTERNS["institution_id"]),
        "level": INSTITUTION_LEVEL,
        "district": DISTRICT,
    },
}

# Resources whose deliveries carry recent events only: an event older than this (relative
# to the delivery) is "late". Registries (meters, lots, institutions) legitimately carry
# old update times, so lateness does not apply to them.
LATE_AFTER: dict[str, dt.timedelta] = {
    "water.meter_readings": dt.timedelta(days=7),
    "gas.meter_readings": dt.timedelta(days=7),
    "gas.safety_inspections": dt.timedelta(days=14),
    "parking.sessions": dt.timedelta(days=7),
    "parking.occupancy": dt.timedelta(days=7),
    "health.card_visits": dt.timedelta(days=7),
}
# Event times later than the delivery by more than this are "future" (clock skew allowance).
FUTURE_AFTER = dt.timedelta(minutes=10)

# Share of meters read remotely (远传) per utility in the mock registries: the numerator of
# energy_auto_coverage. Water meets the 50 % target, gas does not (as in many counties).
REMOTE_SHARE = {"water": 0.68, "gas": 0.42}


def rules(resource_key: str) -> dict[str, Rule]:
    """Rules for '<department>.<resource>' (empty for resources the mock does not know)."""
    return RULES.get(resource_key, {})


def is_valid(rule: Rule, value: object, row: dict | None = None) -> bool:
    """Whether a present value obeys a rule (None is the required-check's business, not ours)."""
    import re

    if value is None or value == "":
        return True
    if isinstance(rule, Enum):
        return value in rule.values
    if isinstance(rule, Pattern):
        if not isinstance(value, str) or not re.match(rule.regex, value):
            return False
        if rule.check == "citizen_id":
            return is_valid_citizen_id(value)
        return True
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    if rule.min is not None and x < rule.min:
        return False
    if rule.max is not None and x > rule.max:
        return False
    if rule.max_column and row is not None and row.get(rule.max_column) is not None:
        return x <= float(row[rule.max_column])
    return True
