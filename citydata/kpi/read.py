"""Read the stored indicators: the one source for `citydata kpi --json`, reports and the dashboard."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from citydata.errors import CitydataError
from citydata.kpi import tiers as T
from citydata.kpi.compute import compute_period, ready
from citydata.kpi.periods import Period, parse_date, period_for, shanghai_iso
from citydata.registry import Registry, load_registry
from citydata.warehouse.db import engine, sql_file


def _ts(v: object) -> dt.datetime | None:
    if v is None:
        return None
    return v if isinstance(v, dt.datetime) else dt.datetime.fromisoformat(str(v))


def first_landed(url: str | None = None, registry: Registry | None = None) -> dt.datetime | None:
    """The platform's first landing (UTC), or None when nothing ever landed.

    Trends leave periods that ended before it empty: the county had no platform then, which
    is "no data", not a collection rate of 0 %.
    """
    ready(registry or load_registry(), url)
    with engine(url).connect() as conn:
        value = conn.execute(text(sql_file("kpi/first_landed.sql", conn.dialect.name))).scalar()
    value = _ts(value)
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def before_platform(period: Period, start: dt.datetime | None) -> bool:
    """True when ``period`` ended before the platform's first landing (or nothing landed yet)."""
    return start is None or period.end <= start


def _met(rate: float | None, target: float) -> bool | None:
    return None if rate is None else rate >= target - 1e-12


def _rows(url: str | None, name: str, period: Period) -> list[dict]:
    eng = engine(url)
    with eng.connect() as conn:
        rows = conn.execute(text(sql_file(name, conn.dialect.name)),
                            {"period_type": period.kind, "period_key": period.key})
        return [dict(r._mapping) for r in rows]


def stored(period: Period, url: str | None = None) -> dict:
    """Everything stored for a period: rates, resources, gaps, energy (raw rows)."""
    return {"rates": _rows(url, "kpi/select_rates.sql", period),
            "resources": _rows(url, "kpi/select_resources.sql", period),
            "gaps": _rows(url, "kpi/select_gaps.sql", period),
            "energy": _rows(url, "kpi/select_energy.sql", period)}


def ensure_computed(period: Period, registry: Registry, url: str | None, refresh: bool | str) -> None:
    """refresh='auto': compute when nothing is stored or the stored result is of a period then in progress."""
    ready(registry, url)
    if refresh is True:
        compute_period(period, registry, url)
        return
    if refresh is False:
        return
    rates = _rows(url, "kpi/select_rates.sql", period)
    if not rates or not all(r["complete"] for r in rates):
        now = dt.datetime.now(dt.UTC)
        if now > period.start:
            compute_period(period, registry, url, as_of=now)


def shortfalls(resources: list[dict]) -> list[dict]:
    """Resources that declare 实时 but measure worse (collection or sharing), with their tiers."""
    out = []
    for r in resources:
        if r["update_cycle"] != "实时":
            continue
        reasons = []
        if not r["collected_rt"]:
            if r["records"] == 0:
                reasons.append("no_data")
            if r["gaps"]:
                reasons.append("gaps")
            if r["collect_tier"] not in (T.REALTIME, T.NO_DATA):
                reasons.append("collection_latency")
        if r["shared_rt"] == 0 and r["records"]:
            reasons.append("sharing_latency" if r["share_tier"] != T.NOT_PUBLISHED else "not_published")
        if reasons:
            out.append({"department": r["department"], "resource": r["resource"], "in_scope": bool(r["in_scope"]),
                        "collect_tier": r["collect_tier"], "collect_tier_zh": T.label(r["collect_tier"]),
                        "share_tier": r["share_tier"], "share_tier_zh": T.label(r["share_tier"]),
                        "p95_collect_s": r["p95_collect_s"], "p95_share_s": r["p95_share_s"],
                        "gaps": int(r["gaps"]), "reasons": reasons})
    return out


def _energy_row(e: dict | None, target: float) -> dict:
    if e is None:
        return {"coverage": None, "met": None, "status": "no_data", "meters_active": None, "meters_covered": None}
    return {"coverage": e["coverage"], "met": _met(e["coverage"], target), "status": e["status"],
            "meters_active": e["meters_active"], "meters_covered": e["meters_covered"]}


def build_rows(period: Period, data: dict, registry: Registry) -> list[dict]:
    """The `citydata kpi --json` objects: one per department (registry order), then 'county'."""
    targets = registry.targets
    rates = {r["department"]: r for r in data["rates"]}
    energy = {e["utility"]: e for e in data["energy"]}
    short = shortfalls(data["resources"])
    out = []
    for name in [*registry.departments, "county"]:
        r = rates.get(name)
        if r is None:
            continue
        dept = registry.departments.get(name)
        utility = dept.energy_utility if dept else "pooled"
        e = _energy_row(energy.get(utility), targets.energy_auto_coverage) if utility else None
        out.append({
            "department": name,
            "department_zh": dept.name_zh if dept else "全县",
            "period": period.key,
            "period_type": period.kind,
            "period_start": shanghai_iso(period.start),
            "period_end": shanghai_iso(period.end),
            "complete": bool(r["complete"]),
            "measured_until": shanghai_iso(_ts(r["measured_until"])),
            "computed_at": shanghai_iso(_ts(r["computed_at"])),
            "collection_rate": r["collection_rate"],
            "sharing_rate": r["sharing_rate"],
            "target": targets.collection_rate,
            "collection_target": targets.collection_rate,
            "sharing_target": targets.sharing_rate,
            "collection_met": _met(r["collection_rate"], targets.collection_rate),
            "sharing_met": _met(r["sharing_rate"], targets.sharing_rate),
            "collection_rate_records": r["collection_rate_records"],
            "sharing_rate_records": r["sharing_rate_records"],
            "resources_in_scope": int(r["resources_in_scope"]),
            "resources_collected_realtime": int(r["resources_collected_rt"]),
            "resources_shareable": int(r["resources_shareable"]),
            "resources_shared_realtime": int(r["resources_shared_rt"]),
            "records": int(r["records"]),
            "records_collect_ok": int(r["records_collect_ok"]),
            "records_shareable": int(r["records_shareable"]),
            "records_share_ok": int(r["records_share_ok"]),
            "energy_utility": utility,
            "energy_auto_coverage": e["coverage"] if e else None,
            "energy_target": targets.energy_auto_coverage,
            "energy_met": e["met"] if e else None,
            "energy_status": e["status"] if e else None,
            "realtime_shortfalls": [s for s in short if name == "county" or s["department"] == name],
        })
        if name == "county":
            out[-1]["energy_by_utility"] = [
                {"utility": u, "departments": energy[u]["departments"].split(",") if energy.get(u) and
                 energy[u]["departments"] else [], **_energy_row(energy.get(u), targets.energy_auto_coverage)}
                for u in ("water", "heat", "gas", "pooled")]
    return out


def read_kpis(period: str = "day", date: str | dt.date | None = None, *, refresh: bool | str = "auto",
              url: str | None = None, registry: Registry | None = None) -> list[dict]:
    """Exactly what `citydata kpi --json` prints, for the period (day|month|quarter) containing ``date``.

    ``date`` defaults to today (Asia/Shanghai). refresh='auto' computes the period when it is
    not stored yet or is (was) still in progress; True always recomputes; False only reads.
    """
    registry = registry or load_registry()
    day = date if isinstance(date, dt.date) else parse_date(date)
    p = period_for(period, day)
    if p.start >= dt.datetime.now(dt.UTC):
        raise CitydataError(f"period {p.key} has not started yet (dates are Asia/Shanghai calendar days)")
    ensure_computed(p, registry, url, refresh)
    return build_rows(p, stored(p, url), registry)
