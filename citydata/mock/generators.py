"""Realistic, seed-deterministic rows for every resource of water, gas, parking and health.

The same (seed, now, rows) always gives the same rows. Entities are stable per seed: meter
i, lot i and institution i have the same ID and attributes in every delivery, so a
readings delivery refers to meters of the registry delivery made with the same seed
(meters 0…rows−1), and sessions/visits refer to lots/institutions 0…ACTIVE_*−1.

Rows hold Python values (aware datetimes for timestamps); `render` formats them the way
the department's system would: CSV with naive local time ("2026-11-28 09:15:00", Asia/
Shanghai), JSON with ISO-8601 and +08:00.

Realism rules implemented (see also model.py and vocab.py):
- districts are Yinan's 17 townships, weighted by households; addresses are county-style;
- meter IDs SW/RQ + township + serial; lot IDs TC…, institution IDs YL…;
- meter registries: remote-read share per utility (vocab.REMOTE_SHARE), ~4 % inactive,
  residential/commercial mix; only active meters report; remote meters report auto readings
  every 15 min up to now, manual meters get one manual reading taken today in working hours;
- cumulative readings come from a closed-form integral of a non-negative rate (daily peaks
  for water, winter heating and evening peaks for gas), so they never decrease per meter;
- parking: real lots/attractions of Yinan, occupancy by hour and weekday (scenic lots busy at
  weekends), sessions with entries by hour, durations by lot type, fees (30 min free, then
  per started hour, daily cap), exited sessions updated at exit time;
- health: 电子健康卡 visits by weekday and hour, visit types with their hours, citizen IDs
  371321 + birth date + sex digit + MOD 11-2 check digit, names matching sex, late corrections
  (updated_at later than the visit) for ~5 % of visits.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from citydata.domain.townships import Township
from citydata.domain.vocab import REMOTE_SHARE
from citydata.mock import ids, model, townships
from citydata.mock.names import person_name

UTC = dt.UTC
LOCAL = model.LOCAL
ACTIVE_LOTS = 24
ACTIVE_INSTITUTIONS = 20


def _rng(seed: int, *parts: object) -> random.Random:
    return random.Random(":".join(str(p) for p in (seed, *parts)))


def unique(seen: set[str], make: Callable[[int], str], k: int) -> str:
    """make(k), or the next free suffix when that ID was already used in this delivery."""
    for step in range(100000):
        candidate = make(k + step)
        if candidate not in seen:
            seen.add(candidate)
            return candidate
    raise RuntimeError("no free identifier")


def floor_time(t: dt.datetime, minutes: int) -> dt.datetime:
    t = t.astimezone(UTC).replace(second=0, microsecond=0)
    return t - dt.timedelta(minutes=t.minute % minutes)


# ---------------------------------------------------------------- meters
@dataclass(frozen=True)
class Meter:
    utility: str
    index: int
    meter_id: str
    town: Township
    address: str
    customer_type: str
    read_mode: str
    status: str
    installed_on: dt.date
    base_m3: float
    m3_per_day: float
    updated_days_ago: float

    def reading(self, t: dt.datetime) -> float:
        """Cumulative m³ at time t (never decreases)."""
        comps = model.WATER_RATE if self.utility == "water" else model.GAS_RATE
        return round(self.base_m3 + self.m3_per_day * model.cumulative(comps, t), 3)

    def battery(self, t: dt.datetime) -> int | None:
        if self.read_mode != "remote":
            return None  # mechanical meter, no battery
        years = (t.date() - self.installed_on).days / 365.25
        return max(5, min(100, round(100 - 9 * years - (self.index % 7))))


def meter_index(meter_id: str, seed: int) -> int | None:
    """Inverse of the serial rule in meter(): which meter of the fleet has this ID."""
    try:
        serial = int(meter_id[4:])
    except ValueError:
        return None
    i, rest = divmod(serial - 100000 - seed % 7, 7)
    return i if rest == 0 and i >= 0 else None


@lru_cache(maxsize=65536)
def meter(seed: int, utility: str, i: int, remote_share: float | None = None) -> Meter:
    r = _rng(seed, "meter", utility, i)
    town = townships.pick(r)
    commercial = r.random() < (0.15 if utility == "water" else 0.10)
    share = REMOTE_SHARE[utility] if remote_share is None else remote_share
    remote = r.random() < share
    installed = dt.date(2012, 1, 1) + dt.timedelta(days=r.randint(0, 4800))
    per_day = (r.uniform(1.5, 6.0) if commercial else r.uniform(0.2, 0.55)) if utility == "water" else \
        (r.uniform(4.0, 15.0) if commercial else r.uniform(0.5, 1.4))
    make_id = ids.water_meter_id if utility == "water" else ids.gas_meter_id
    return Meter(
        utility=utility, index=i, meter_id=make_id(town.code, 100000 + i * 7 + (seed % 7)), town=town,
        address=townships.address(r, town), customer_type="commercial" if commercial else "residential",
        read_mode="remote" if remote else "manual", status="inactive" if r.random() < 0.04 else "active",
        installed_on=installed, base_m3=round(r.uniform(20, 2500), 3), m3_per_day=per_day,
        updated_days_ago=r.uniform(0.05, 400),
    )


def meters_rows(utility: str, n: int, seed: int, now: dt.datetime) -> list[dict]:
    out = []
    for i in range(n):
        m = meter(seed, utility, i)
        updated = max(now - dt.timedelta(days=m.updated_days_ago),
                      dt.datetime.combine(m.installed_on, dt.time(9), LOCAL).astimezone(UTC))
        out.append({"meter_id": m.meter_id, "household_address": m.address, "district": m.town.name,
                    "customer_type": m.customer_type, "read_mode": m.read_mode, "status": m.status,
                    "installed_on": m.installed_on, "updated_at": min(updated, now)})
    return out


def readings_rows(utility: str, n: int, seed: int, now: dt.datetime) -> list[dict]:
    """Latest 15-min readings of every active remote meter (then earlier slots), plus today's manual readings.

    The fleet is meters 0…n−1 (the registry delivery of the same size and seed).
    """
    if n <= 0:
        return []
    fleet = [meter(seed, utility, i) for i in range(n)]
    remote = [m for m in fleet if m.status == "active" and m.read_mode == "remote"]
    manual = [m for m in fleet if m.status == "active" and m.read_mode == "manual"]
    rng = _rng(seed, "readings", utility, now.isoformat())
    n_manual = min(len(manual), round(n * 0.05)) if remote else min(len(manual), n)
    out: list[dict] = []
    local_now = now.astimezone(LOCAL)
    day = local_now.date() if local_now.hour >= 9 else local_now.date() - dt.timedelta(days=1)
    start = dt.datetime.combine(day, dt.time(8, 30), LOCAL)
    end = min(dt.datetime.combine(day, dt.time(17, 30), LOCAL), local_now)
    span = max(60, int((end - start).total_seconds()))
    for m in rng.sample(manual, n_manual):
        t = (start + dt.timedelta(seconds=rng.randrange(span))).astimezone(UTC).replace(microsecond=0)
        t = min(t, now.replace(microsecond=0))
        out.append({"meter_id": m.meter_id, "reading_time": t, "reading_m3": round(m.reading(t), 1),
                    "battery_pct": None, "read_method": "manual", "district": m.town.name})
    latest = floor_time(now, 15)
    j = 0
    while len(out) < n and remote:
        m = remote[j % len(remote)]
        t = latest - dt.timedelta(minutes=15 * (j // len(remote)))
        out.append({"meter_id": m.meter_id, "reading_time": t, "reading_m3": m.reading(t),
                    "battery_pct": m.battery(t), "read_method": "auto", "district": m.town.name})
        j += 1
    out.sort(key=lambda r: (r["reading_time"], r["meter_id"]))
    return out


def inspections_rows(n: int, seed: int, now: dt.datetime) -> list[dict]:
    """Door-to-door gas safety checks, in working hours on the last 7 days (few on Sundays)."""
    rng = _rng(seed, "inspections", now.isoformat())
    roster = [person_name(_rng(seed, "inspector", k), male=k % 4 != 3) for k in range(8)]
    fleet = max(n, 1)
    local_now = now.astimezone(LOCAL)
    out: list[dict] = []
    seen: set[str] = set()
    for j in range(n):
        while True:
            day = local_now.date() - dt.timedelta(days=rng.randint(0, 6))
            if dt.date.weekday(day) == 6 and rng.random() < 0.8:
                continue
            t = dt.datetime.combine(day, dt.time(8, 30), LOCAL) + dt.timedelta(minutes=rng.randint(0, 540))
            if t <= local_now:
                break
        m = meter(seed, "gas", rng.randrange(fleet))
        result = rng.choices(("pass", "rectify", "fail"), weights=(85, 11, 4))[0]
        hazard = 0 if result == "pass" else (rng.choice((1, 2)) if result == "rectify" else rng.choice((2, 3)))
        iid = unique(seen, lambda k, t=t: f"AJ{t:%Y%m%d}{k % 10000:04d}", j)
        out.append({"inspection_id": iid, "meter_id": m.meter_id,
                    "inspector": rng.choice(roster), "inspected_at": t.astimezone(UTC).replace(second=0),
                    "result": result, "hazard_level": hazard, "district": m.town.name})
    out.sort(key=lambda r: r["inspected_at"])
    return out


# ---------------------------------------------------------------- parking
# (name, township code, lot type, capacity, scenic?)
_NAMED_LOTS = (
    ("沂南县人民医院停车场", 1, "off_street", 320, False),
    ("沂南汽车站停车场", 1, "off_street", 260, False),
    ("县政务服务中心停车场", 1, "off_street", 180, False),
    ("银座商城地下停车场", 1, "garage", 520, False),
    ("人民路路内泊位", 1, "on_street", 64, False),
    ("澳柯玛大道路内泊位", 1, "on_street", 80, False),
    ("振兴路路内泊位", 1, "on_street", 48, False),
    ("历山路路内泊位", 1, "on_street", 56, False),
    ("沂河湿地公园停车场", 1, "off_street", 150, True),
    ("县中医医院停车场", 1, "off_street", 140, False),
    ("滨河路路内泊位", 1, "on_street", 72, False),
    ("县体育中心地下停车场", 1, "garage", 400, False),
    ("诸葛亮文化旅游区停车场", 7, "off_street", 600, True),
    ("竹泉村旅游区停车场", 15, "off_street", 800, True),
    ("智圣汤泉旅游度假区停车场", 15, "off_street", 450, True),
    ("沂蒙红色影视基地停车场", 17, "off_street", 700, True),
    ("常山庄景区停车场", 17, "off_street", 300, True),
    ("岸堤镇政府停车场", 2, "off_street", 90, False),
    ("青驼镇集贸市场停车场", 5, "off_street", 120, False),
    ("张庄镇卫生院停车场", 6, "off_street", 60, False),
    ("大庄镇商贸街路内泊位", 10, "on_street", 40, False),
    ("苏村镇集贸市场停车场", 14, "off_street", 100, False),
    ("辛集镇政府停车场", 11, "off_street", 70, False),
    ("湖头镇集贸市场停车场", 13, "off_street", 90, False),
)


@dataclass(frozen=True)
class Lot:
    index: int
    lot_id: str
    name: str
    town: Township
    lot_type: str
    capacity: int
    scenic: bool
    longitude: float
    latitude: float
    updated_days_ago: float


@lru_cache(maxsize=4096)
def lot(seed: int, i: int) -> Lot:
    r = _rng(seed, "lot", i)
    if i < len(_NAMED_LOTS):
        name, code, kind, cap, scenic = _NAMED_LOTS[i]
        town = townships.BY_CODE[code]
    else:
        kind = r.choices(("off_street", "on_street", "garage"), weights=(6, 3, 1))[0]
        cap = {"off_street": r.randint(60, 300), "on_street": r.randint(20, 80), "garage": r.randint(150, 600)}[kind]
        # Unnamed lots go round the townships so IDs stay unique (up to ~15,000 lots).
        k = i - len(_NAMED_LOTS)
        town = townships.TOWNSHIPS[k % len(townships.TOWNSHIPS)]
        name, scenic = f"{town.name}第{k // len(townships.TOWNSHIPS) + 1}公共停车场", False
    serial = sum(1 for k in range(i) if _NAMED_LOTS[k][1] == town.code) + 1 if i < len(_NAMED_LOTS) \
        else 100 + (i - len(_NAMED_LOTS)) // len(townships.TOWNSHIPS)
    return Lot(i, ids.lot_id(town.code, serial % 1000), name, town, kind, cap, scenic,
               round(town.longitude + r.uniform(-0.012, 0.012), 6), round(town.latitude + r.uniform(-0.010, 0.010), 6),
               r.uniform(1, 900))


def lots_rows(n: int, seed: int, now: dt.datetime) -> list[dict]:
    out = []
    for i in range(n):
        lt = lot(seed, i)
        out.append({"lot_id": lt.lot_id, "name": lt.name, "district": lt.town.name, "capacity": lt.capacity,
                    "lot_type": lt.lot_type, "longitude": lt.longitude, "latitude": lt.latitude,
                    "updated_at": (now - dt.timedelta(days=lt.updated_days_ago)).replace(microsecond=0)})
    return out


def occupied(lt: Lot, t: dt.datetime, rng: random.Random) -> int:
    share = model.occupancy_share(t, lt.scenic) + rng.uniform(-0.05, 0.05)
    return max(0, min(lt.capacity, round(lt.capacity * share)))


def occupancy_rows(n: int, seed: int, now: dt.datetime) -> list[dict]:
    """5-minute snapshots of the active lots, newest slot first, going back as rows require."""
    rng = _rng(seed, "occupancy", now.isoformat())
    k = min(ACTIVE_LOTS, max(n, 1))
    latest = floor_time(now, 5)
    out = []
    for j in range(n):
        lt = lot(seed, j % k)
        t = latest - dt.timedelta(minutes=5 * (j // k))
        out.append({"lot_id": lt.lot_id, "snapshot_time": t, "occupied": occupied(lt, t, rng), "capacity": lt.capacity})
    out.sort(key=lambda r: (r["snapshot_time"], r["lot_id"]))
    return out


FEE_PER_HOUR = {"on_street": 2.0, "off_street": 1.0, "garage": 2.0}
DAILY_CAP = 20.0


def parking_fee(lt: Lot, entry: dt.datetime, exit_: dt.datetime) -> float:
    """30 minutes free, then per started hour, capped per started day (scenic lots: flat ¥10)."""
    minutes = (exit_ - entry).total_seconds() / 60
    if minutes <= 30:
        return 0.0
    if lt.scenic:
        return 10.0
    days = math.ceil(minutes / 1440)
    return float(min(math.ceil(minutes / 60) * FEE_PER_HOUR[lt.lot_type], DAILY_CAP * days))


def session_duration(lt: Lot, rng: random.Random) -> dt.timedelta:
    median = {"on_street": 45, "off_street": 100, "garage": 150}[lt.lot_type] * (1.8 if lt.scenic else 1)
    return dt.timedelta(minutes=max(3, min(2880, rng.lognormvariate(math.log(median), 0.8))))


def pick_lot(seed: int, rng: random.Random) -> Lot:
    lots = [lot(seed, i) for i in range(ACTIVE_LOTS)]
    return rng.choices(lots, weights=[x.capacity for x in lots])[0]


def plate(rng: random.Random) -> str:
    if rng.random() < 0.06:  # visitors from elsewhere in Shandong or Jiangsu
        return ids.make_plate(rng, rng.random() < 0.2, prefix=rng.choice(("鲁A", "鲁C", "鲁K", "苏C", "鲁Q")))
    return ids.make_plate(rng, new_energy=rng.random() < 0.18)


def session_record(lt: Lot, entry: dt.datetime, duration: dt.timedelta, now: dt.datetime,
                   plate_no: str, k: int, seen: set[str]) -> dict:
    exit_ = entry + duration
    done = exit_ <= now
    stamp = f"PS{lt.lot_id[2:]}{entry.astimezone(LOCAL):%y%m%d%H%M%S}"
    return {"session_id": unique(seen, lambda x: f"{stamp}{x % 1000:03d}", k), "lot_id": lt.lot_id,
            "plate_no": plate_no, "entry_time": entry, "exit_time": exit_ if done else None,
            "fee_yuan": parking_fee(lt, entry, exit_) if done else None, "status": "out" if done else "in",
            "updated_at": exit_ if done else entry}


def sessions_rows(n: int, seed: int, now: dt.datetime) -> list[dict]:
    """Sessions entered in the last 24 h, by hour of day; those already over are 'out'."""
    rng = _rng(seed, "sessions", now.isoformat())
    hours = [now - dt.timedelta(hours=h + 1) for h in range(24)]
    weights = [model.entry_weight(h) for h in hours]
    out: list[dict] = []
    seen: set[str] = set()
    for j in range(n):
        lt = pick_lot(seed, rng)
        entry = (rng.choices(hours, weights=weights)[0] + dt.timedelta(seconds=rng.randrange(3600))).replace(microsecond=0)
        out.append(session_record(lt, entry, session_duration(lt, rng), now, plate(rng), j, seen))
    out.sort(key=lambda r: r["updated_at"])
    return out


# ---------------------------------------------------------------- health
@dataclass(frozen=True)
class Institution:
    index: int
    institution_id: str
    name: str
    level: str
    town: Township
    weight: float
    updated_days_ago: float


_COUNTY_HOSPITALS = (("沂南县人民医院", "二级", 10.0), ("沂南县中医医院", "二级", 6.0),
                     ("沂南县妇幼保健院", "二级", 3.0))


@lru_cache(maxsize=4096)
def institution(seed: int, i: int) -> Institution:
    r = _rng(seed, "institution", i)
    seat = townships.BY_CODE[1]
    if i < len(_COUNTY_HOSPITALS):
        name, level, w = _COUNTY_HOSPITALS[i]
        return Institution(i, ids.institution_id(1, i + 1), name, level, seat, w, r.uniform(20, 700))
    k = i - len(_COUNTY_HOSPITALS)
    if k < len(townships.TOWNSHIPS):
        town = townships.TOWNSHIPS[k]
        name = "界湖街道社区卫生服务中心" if town.code == 1 else f"沂南县{town.name}卫生院"
        return Institution(i, ids.institution_id(town.code, 10), name, "一级", town,
                           1.2, r.uniform(20, 700))
    k -= len(townships.TOWNSHIPS)  # village clinics, round the townships so IDs stay unique
    town = townships.TOWNSHIPS[k % len(townships.TOWNSHIPS)]
    serial = 100 + k // len(townships.TOWNSHIPS)
    return Institution(i, ids.institution_id(town.code, serial % 1000), f"{town.name}{townships.village(r)}村卫生室",
                       "未定级", town, 0.3, r.uniform(20, 700))


def institutions_rows(n: int, seed: int, now: dt.datetime) -> list[dict]:
    return [{"institution_id": x.institution_id, "name": x.name, "level": x.level, "district": x.town.name,
             "updated_at": (now - dt.timedelta(days=x.updated_days_ago)).replace(microsecond=0)}
            for x in (institution(seed, i) for i in range(n))]


_VISIT_TYPES = (("outpatient", 78), ("checkup", 10), ("emergency", 6), ("inpatient", 6))


def patient(rng: random.Random, visit_type: str, on: dt.date) -> tuple[str, str, str | None]:
    """(citizen_id, name, phone): ages skewed to children and the elderly for clinic visits."""
    male = rng.random() < 0.48
    age = rng.choices((rng.randint(0, 12), rng.randint(13, 44), rng.randint(45, 64), rng.randint(65, 95)),
                      weights=(18, 27, 27, 28) if visit_type != "checkup" else (10, 45, 35, 10))[0]
    birth = dt.date(on.year - age, 1, 1) + dt.timedelta(days=rng.randint(0, 364))
    birth = min(birth, on)
    phone = ids.make_phone(rng) if rng.random() < 0.85 else None
    return ids.make_citizen_id(rng, birth, male), person_name(rng, male), phone


def visit_record(seed: int, rng: random.Random, t: dt.datetime, k: int, now: dt.datetime, seen: set[str]) -> dict:
    insts = [institution(seed, i) for i in range(ACTIVE_INSTITUTIONS)]
    inst = rng.choices(insts, weights=[x.weight for x in insts])[0]
    hour = t.astimezone(LOCAL).hour
    if 7 <= hour < 18:
        vtype = rng.choices([v for v, _ in _VISIT_TYPES], weights=[w for _, w in _VISIT_TYPES])[0]
    else:  # out of clinic hours: emergencies and admissions only
        vtype = "emergency" if rng.random() < 0.8 else "inpatient"
    cid, name, phone = patient(rng, vtype, t.astimezone(LOCAL).date())
    updated = min(now, t + dt.timedelta(seconds=rng.randint(30, 900)))
    stamp = f"JZ{inst.institution_id[2:]}{t.astimezone(LOCAL):%y%m%d%H%M%S}"
    return {"visit_id": unique(seen, lambda x: f"{stamp}{x % 100:02d}", k),
            "citizen_id": cid, "patient_name": name, "phone": phone, "institution_id": inst.institution_id,
            "visit_type": vtype, "visit_time": t, "updated_at": updated}


def visit_time(rng: random.Random, now: dt.datetime, hours: int = 72) -> dt.datetime:
    slots = [now - dt.timedelta(hours=h + 1) for h in range(hours)]
    t = rng.choices(slots, weights=[model.visit_weight(s) for s in slots])[0]
    return (t + dt.timedelta(seconds=rng.randrange(3600))).replace(microsecond=0)


def card_visits_rows(n: int, seed: int, now: dt.datetime) -> list[dict]:
    """Visits in the last 72 h by weekday and hour; ~5 % corrected later (updated_at ≫ visit_time)."""
    rng = _rng(seed, "visits", now.isoformat())
    out: list[dict] = []
    seen: set[str] = set()
    for j in range(n):
        rec = visit_record(seed, rng, visit_time(rng, now), j, now, seen)
        if rng.random() < 0.05:
            rec["updated_at"] = min(now, rec["visit_time"] + dt.timedelta(hours=rng.uniform(1, 30))).replace(microsecond=0)
        out.append(rec)
    out.sort(key=lambda r: r["visit_time"])
    return out


# ---------------------------------------------------------------- dispatch
Generator = Callable[[int, int, dt.datetime], list[dict]]
GENERATORS: dict[str, Generator] = {
    "water.meter_readings": lambda n, s, now: readings_rows("water", n, s, now),
    "water.meters": lambda n, s, now: meters_rows("water", n, s, now),
    "gas.meter_readings": lambda n, s, now: readings_rows("gas", n, s, now),
    "gas.meters": lambda n, s, now: meters_rows("gas", n, s, now),
    "gas.safety_inspections": inspections_rows,
    "parking.sessions": sessions_rows,
    "parking.occupancy": occupancy_rows,
    "parking.lots": lots_rows,
    "health.card_visits": card_visits_rows,
    "health.institutions": institutions_rows,
}


def known(resource_key: str) -> bool:
    return resource_key in GENERATORS


def rows_for(resource_key: str, n: int, seed: int, now: dt.datetime) -> list[dict]:
    """n rows for '<department>.<resource>' as of `now` (KeyError for resources the mock does not know)."""
    return GENERATORS[resource_key](n, seed, now.astimezone(UTC))


def retime(resource_key: str, row: dict, event_field: str, t: dt.datetime, seed: int) -> dict:
    """The same record as if its event happened at t, with dependent values kept consistent.

    Used for late/future defects so that the only thing wrong with the row is its time
    (a meter reading is recomputed for t, so it still fits the meter's monotone curve).
    """
    row = dict(row)
    old = row.get(event_field)
    if resource_key.endswith(".meter_readings"):
        utility = resource_key.split(".")[0]
        idx = meter_index(row["meter_id"], seed)
        if idx is not None and meter(seed, utility, idx).meter_id == row["meter_id"]:
            m = meter(seed, utility, idx)
            row["reading_m3"] = m.reading(t)
            if row.get("battery_pct") is not None:
                row["battery_pct"] = m.battery(t)
        row[event_field] = t
        return row
    if isinstance(old, dt.datetime):
        delta = t - old
        for k, v in row.items():  # shift every time of the record together (entry/exit/updated)
            if isinstance(v, dt.datetime):
                row[k] = v + delta
    else:
        row[event_field] = t
    return row


def render_value(v: object, fmt: str) -> object:
    """Format one value as the department's system writes it."""
    if isinstance(v, dt.datetime):
        lt = v.astimezone(LOCAL)
        return lt.strftime("%Y-%m-%d %H:%M:%S") if fmt == "csv" else lt.isoformat(timespec="seconds")
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


def render(rows: list[dict], fmt: str) -> list[dict]:
    return [{k: render_value(v, fmt) for k, v in r.items()} for r in rows]
