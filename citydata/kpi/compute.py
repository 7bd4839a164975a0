"""Compute and store the indicators of one period (definitions in docs/indicators.md).

All measuring is SQL (include/sql/kpi/); this module loops over the registry's resources,
classifies tiers, and writes the period's results in one transaction that first deletes
what was stored for the period (recomputing replaces; any past period can be backfilled).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from sqlalchemy import Connection, text

from citydata.bootstrap import ensure_schema
from citydata.config import settings
from citydata.errors import CitydataError
from citydata.kpi import tiers as T
from citydata.kpi.dialect import ceil_seconds, seconds_between
from citydata.kpi.periods import Period
from citydata.registry import Registry, Resource, load_registry
from citydata.warehouse.db import ident, qualify, sql_file, statements, transaction
from citydata.warehouse.load import ts_param, utcnow

log = logging.getLogger(__name__)
UTILITIES = ("water", "heat", "gas")
# Values of the energy roles' fields that the coverage counts (docs/indicators.md, citydata.domain.vocab).
ENERGY_VALUES = {"status_active": "active", "customer_residential": "residential", "mode_remote": "remote",
                 "method_auto": "auto"}
ENERGY_FIELDS = {"energy_meters": ("meter_id", "status", "customer_type", "read_mode"),
                 "energy_readings": ("meter_id", "read_method")}


_READY: set[tuple[str, str]] = set()


def ready(registry: Registry, url: str | None = None) -> None:
    """Create the warehouse (incl. share and kpi tables) once per process, URL and registry."""
    url = url or settings().warehouse_url
    key = (url, str(registry.path))
    if key not in _READY:
        ensure_schema(registry, url)
        _READY.add(key)


@dataclass
class ResourceResult:
    resource: Resource
    records: int = 0
    records_collect_ok: int = 0
    records_published: int = 0
    records_share_ok: int = 0
    p95_collect_s: float | None = None
    p95_share_s: float | None = None
    collect_tier: str = T.NO_DATA
    share_tier: str = T.NO_DATA
    gaps: list[tuple] = field(default_factory=list)
    collected_rt: bool = False
    shared_rt: bool | None = None

    @property
    def max_gap_s(self) -> float | None:
        return max((g[2] for g in self.gaps), default=None)


def _measure_resource(conn: Connection, r: Resource, period: Period, as_of: dt.datetime, registry: Registry) -> ResourceResult:
    dialect = conn.dialect.name
    until = period.measured_until(as_of)
    binds = {"department": r.department, "resource": r.name, "start": ts_param(period.start, dialect),
             "until": ts_param(until, dialect), "as_of": ts_param(as_of, dialect)}
    threshold = T.realtime_seconds(registry.tiers)
    row = conn.execute(text(sql_file(
        "kpi/resource_latency.sql", dialect, collect_s=ceil_seconds("l.t_landed", "h.t_event", dialect),
        share_s=ceil_seconds("p.t_published", "h.t_event", dialect),
    )), {**binds, "threshold_s": threshold}).one()
    res = ResourceResult(r, int(row.records), int(row.records_collect_ok), int(row.records_published),
                         int(row.records_share_ok), row.p95_collect_s, row.p95_share_s)
    max_gap = (r.interval_minutes + r.grace_minutes) * 60
    gaps = conn.execute(text(sql_file("kpi/resource_gaps.sql", dialect,
                                      gap_s=seconds_between("gap_end", "gap_start", dialect))),
                        {**binds, "max_gap_s": max_gap}).all()
    res.gaps = [(g.gap_start, g.gap_end, float(g.gap_s)) for g in gaps]
    res.collect_tier = T.classify(res.p95_collect_s, registry.tiers) if res.records else T.NO_DATA
    res.collected_rt = res.records > 0 and not res.gaps and res.collect_tier == T.REALTIME
    if not r.shared:
        res.share_tier, res.shared_rt = T.NOT_SHARED, None
    else:
        if not res.records:
            res.share_tier = T.NO_DATA
        elif row.p95_share_unpublished:
            res.share_tier = T.NOT_PUBLISHED
        else:
            res.share_tier = T.classify(res.p95_share_s, registry.tiers)
        res.shared_rt = res.records_published > 0 and res.share_tier == T.REALTIME
    return res


def _role_resource(registry: Registry, department: str, role: str) -> Resource | None:
    found = [r for r in registry.department(department).resources.values() if r.role == role]
    if len(found) > 1:
        raise CitydataError(f"registry: department {department} has {len(found)} resources with role {role}; "
                            "energy coverage needs exactly one")
    if found:
        missing = [f for f in ENERGY_FIELDS[role] if f not in {x.name for x in found[0].fields}]
        if missing:
            raise CitydataError(f"registry: resource {found[0].key} (role {role}) lacks field(s) {', '.join(missing)}")
    return found[0] if found else None


def _energy(conn: Connection, registry: Registry, period: Period, as_of: dt.datetime) -> list[dict]:
    """Coverage per utility (water, heat, gas) and pooled; a utility without a department is 'no_data'."""
    dialect = conn.dialect.name
    reference = period.measured_until(as_of)
    out, pooled_active, pooled_covered, pooled_depts = [], 0, 0, []
    for utility in UTILITIES:
        depts = [d.name for d in registry.departments.values() if d.energy_utility == utility]
        active = covered = 0
        status = "no_data"
        for dept in depts:
            meters = _role_resource(registry, dept, "energy_meters")
            readings = _role_resource(registry, dept, "energy_readings")
            if not meters or not readings:
                continue
            row = conn.execute(text(sql_file(
                "kpi/energy_coverage.sql", dialect, meters=qualify("core", meters.table, dialect),
                readings=qualify("core", readings.table, dialect), event_time=ident(readings.event_time),
            )), {**ENERGY_VALUES, "window_start": ts_param(reference - dt.timedelta(hours=24), dialect),
                 "reference": ts_param(reference, dialect), "as_of": ts_param(as_of, dialect)}).one()
            active += int(row.meters_active)
            covered += int(row.meters_covered)
            status = "ok"
        if status == "ok" and active == 0:
            status = "no_meters"
        coverage = covered / active if status == "ok" else None
        out.append({"utility": utility, "departments": ",".join(depts), "meters_active": active if depts else None,
                    "meters_covered": covered if depts else None, "coverage": coverage, "status": status,
                    "reference_time": reference})
        if status in ("ok", "no_meters"):
            pooled_active += active
            pooled_covered += covered
            pooled_depts += depts
    pooled = pooled_covered / pooled_active if pooled_active else None
    out.append({"utility": "pooled", "departments": ",".join(pooled_depts),
                "meters_active": pooled_active if pooled_depts else None,
                "meters_covered": pooled_covered if pooled_depts else None, "coverage": pooled,
                "status": "ok" if pooled is not None else ("no_meters" if pooled_depts else "no_data"),
                "reference_time": reference})
    return out


def compute_period(period: Period, registry: Registry | None = None, url: str | None = None,
                   as_of: dt.datetime | None = None) -> dict:
    """Measure every resource for ``period`` as of ``as_of`` (default now) and store the results."""
    registry = registry or load_registry()
    as_of = (as_of or utcnow()).astimezone(dt.UTC)
    if as_of <= period.start:
        raise CitydataError(f"period {period.key} has not started yet (as of {as_of.isoformat(timespec='seconds')})")
    ready(registry, url)
    complete = period.complete(as_of)
    with transaction(url) as conn:
        d = conn.dialect.name
        base = {"period_type": period.kind, "period_key": period.key}
        stamps = {**base, "period_start": ts_param(period.start, d), "period_end": ts_param(period.end, d),
                  "measured_until": ts_param(period.measured_until(as_of), d), "complete": int(complete),
                  "computed_at": ts_param(utcnow(), d)}
        results = [_measure_resource(conn, r, period, as_of, registry) for r in registry.resources]
        energy = _energy(conn, registry, period, as_of)
        for stmt in statements(sql_file("kpi/delete_period.sql", d)):
            conn.execute(text(stmt), base)
        for res in results:
            r = res.resource
            conn.execute(text(sql_file("kpi/insert_resource.sql", d)), {
                **stamps, "department": r.department, "resource": r.name, "update_cycle": r.update_cycle,
                "sharing_type": r.sharing_type, "in_scope": int(r.in_scope), "interval_minutes": r.interval_minutes,
                "grace_minutes": r.grace_minutes, "records": res.records, "records_collect_ok": res.records_collect_ok,
                "records_published": res.records_published, "records_share_ok": res.records_share_ok,
                "p95_collect_s": res.p95_collect_s, "p95_share_s": res.p95_share_s, "collect_tier": res.collect_tier,
                "share_tier": res.share_tier, "gaps": len(res.gaps), "max_gap_s": res.max_gap_s,
                "collected_rt": int(res.collected_rt), "shared_rt": None if res.shared_rt is None else int(res.shared_rt),
            })
            if res.gaps:
                conn.execute(text(sql_file("kpi/insert_gap.sql", d)), [
                    {**base, "department": r.department, "resource": r.name, "gap_start": g0, "gap_end": g1, "gap_s": gs}
                    for g0, g1, gs in res.gaps])
        rates = {row.department: dict(row._mapping) for row in
                 conn.execute(text(sql_file("kpi/department_rates.sql", d)), base)}
        for dept in [*registry.departments, "county"]:
            row = rates.get(dept) or {"department": dept, "resources_in_scope": 0, "resources_collected_rt": 0,
                                      "resources_shareable": 0, "resources_shared_rt": 0, "records": 0,
                                      "records_collect_ok": 0, "records_shareable": 0, "records_share_ok": 0,
                                      "collection_rate": None, "sharing_rate": None,
                                      "collection_rate_records": None, "sharing_rate_records": None}
            conn.execute(text(sql_file("kpi/insert_rates.sql", d)), {**stamps, **row})
        for e in energy:
            conn.execute(text(sql_file("kpi/insert_energy.sql", d)), {
                **base, "reference_time": ts_param(e["reference_time"], d), "complete": int(complete),
                "computed_at": stamps["computed_at"], "utility": e["utility"], "departments": e["departments"],
                "meters_active": e["meters_active"], "meters_covered": e["meters_covered"],
                "coverage": e["coverage"], "status": e["status"]})
    log.info("kpi %s %s computed (complete=%s)", period.kind, period.key, complete)
    return {"period_type": period.kind, "period": period.key, "complete": complete, "resources": len(results)}
