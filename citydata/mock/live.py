"""Mock departments delivering in real time (`citydata demo --live`): what each sends, and when.

- remote-read water and gas meters report every few minutes: one reading per active remote meter
  at the delivery's time, in a small file written as `.part` and renamed when complete; the
  water files carry a few row defects (quarantined, never rejected);
- manual readings (meters read by hand, taken during the day's working hours) and the gas
  door-to-door inspections arrive as one late batch at the end, as they do at the end of the day;
- the meter registries, parking lots and health institutions are delivered once at the start;
- the parking API and the health database (citydata.mock.run.running_mocks) change continuously
  and are pulled on their cron.

Every file is a function of (seed, delivery time): the same run replays byte for byte.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from citydata.mock import defects as dfx
from citydata.mock import generators
from citydata.mock.delivery import write_rows
from citydata.registry import Registry

UTILITIES = ("water", "gas")
REGISTRY_RESOURCES = (("water", "meters"), ("gas", "meters"), ("parking", "lots"), ("health", "institutions"))
LATE_RESOURCES = (("gas", "safety_inspections"),)
ROW_DEFECTS = ["missing_required", "out_of_range", "invalid_code", "duplicate"]  # no "late": it would fake lateness
DEFECT_RATES = {"water": 0.03}


@dataclass(frozen=True)
class Delivery:
    """One file a mock department will write: when, which resource, what kind of content."""

    at: dt.datetime  # UTC
    department: str
    resource: str
    kind: str  # registry | remote | manual | late


def plan(start: dt.datetime, end: dt.datetime, every_seconds: float, registry: Registry) -> list[Delivery]:
    """Registries at ``start``, remote readings every ``every_seconds`` in [start, end), the late batch at ``end``."""
    known = {(r.department, r.name) for r in registry.resources}
    out = [Delivery(start, d, r, "registry") for d, r in REGISTRY_RESOURCES if (d, r) in known]
    t = start
    while t < end:
        out += [Delivery(t, u, "meter_readings", "remote") for u in UTILITIES if (u, "meter_readings") in known]
        t += dt.timedelta(seconds=every_seconds)
    out += [Delivery(end, u, "meter_readings", "manual") for u in UTILITIES if (u, "meter_readings") in known]
    out += [Delivery(end, d, r, "late") for d, r in LATE_RESOURCES if (d, r) in known]
    return sorted(out, key=lambda d: (d.at, d.department, d.resource))


def remote_readings(utility: str, fleet: int, seed: int, at: dt.datetime) -> list[dict]:
    """Each active remote meter's reading at the delivery's second (what a remote-read system sends)."""
    t = at.astimezone(dt.UTC).replace(microsecond=0)
    meters = [generators.meter(seed, utility, i) for i in range(fleet)]
    return [{"meter_id": m.meter_id, "reading_time": t, "reading_m3": m.reading(t), "battery_pct": m.battery(t),
             "read_method": "auto", "district": m.town.name}
            for m in meters if m.status == "active" and m.read_mode == "remote"]


def manual_readings(utility: str, fleet: int, seed: int, at: dt.datetime) -> list[dict]:
    """The day's manual readings (taken in working hours, typed in later), without the remote ones."""
    rows = generators.rows_for(f"{utility}.meter_readings", fleet, seed, at)
    return [r for r in rows if r["read_method"] == "manual"]


def rows_for(d: Delivery, fleet: int, seed: int) -> list[dict]:
    if d.kind == "remote":
        return remote_readings(d.department, fleet, seed, d.at)
    if d.kind == "manual":
        return manual_readings(d.department, fleet, seed, d.at)
    return generators.rows_for(f"{d.department}.{d.resource}", fleet, seed, d.at)


def write(d: Delivery, registry: Registry, landing: Path, *, fleet: int, seed: int) -> Path | None:
    """Write one delivery into landing/<department>/<resource>/ (`.part`, then renamed); None when empty."""
    resource = registry.resource(d.department, d.resource)
    rows = rows_for(d, fleet, seed)
    if not rows:
        return None
    rate = DEFECT_RATES.get(d.department, 0.0) if d.kind == "remote" else 0.0
    bad = dfx.corrupt(resource, rows, rate=rate, kinds=ROW_DEFECTS if rate else [], seed=seed, now=d.at,
                      fmt=resource.format)
    stamp = d.at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S")
    path = landing / d.department / d.resource / f"{d.resource}_{d.kind}_{stamp}_s{seed}.{resource.format}"
    return write_rows(generators.render(bad.rows, resource.format), bad.columns, path, resource.format,
                      encoding=bad.encoding)
