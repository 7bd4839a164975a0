"""Realistic mock data: determinism by seed, valid IDs, registry fields, vocabularies and behaviour."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict

import pytest

from citydata.domain import vocab
from citydata.domain.ids import citizen_id_check_digit, is_valid_citizen_id
from citydata.domain.townships import NAMES
from citydata.mock import generators, model
from citydata.mock.ids import make_citizen_id
from citydata.registry import load_registry

NOW = dt.datetime(2026, 11, 28, 9, 7, 31, tzinfo=dt.UTC)  # a Saturday afternoon in Yinan
KEYS = sorted(generators.GENERATORS)


@pytest.fixture(scope="module")
def registry():
    return load_registry()


def test_every_registry_resource_of_the_four_departments_has_a_realistic_generator(registry) -> None:
    for dept in ("water", "gas", "parking", "health"):
        for res in registry.departments[dept].resources.values():
            assert generators.known(res.key), res.key


@pytest.mark.parametrize("key", KEYS)
def test_same_seed_same_rows_other_seed_other_rows(key: str) -> None:
    a = generators.rows_for(key, 300, 11, NOW)
    b = generators.rows_for(key, 300, 11, NOW)
    c = generators.rows_for(key, 300, 12, NOW)
    assert a == b
    assert a != c
    assert len(a) == 300


@pytest.mark.parametrize("key", KEYS)
def test_rows_have_exactly_the_registry_fields_unique_keys_and_valid_vocabulary(key: str, registry) -> None:
    dept, name = key.split(".")
    res = registry.resource(dept, name)
    rows = generators.rows_for(key, 1500, 5, NOW)
    names = [f.name for f in res.fields]
    keys = set()
    for r in rows:
        assert list(r) == names
        for f in res.required_fields:
            assert r[f] not in (None, ""), (key, f, r)
        keys.add(tuple(r[k] for k in res.primary_key))
        for col, rule in vocab.rules(key).items():
            assert vocab.is_valid(rule, r[col], r), (key, col, r[col])
        t = r[res.event_time]
        assert t <= NOW, (key, t)
        if key in vocab.LATE_AFTER:
            assert t >= NOW - vocab.LATE_AFTER[key], (key, t)
        if "district" in r and r["district"] is not None:
            assert r["district"] in NAMES
    assert len(keys) == len(rows), f"{key}: primary key not unique"


def test_citizen_ids_are_yinan_with_valid_birth_dates_and_check_digits() -> None:
    rows = generators.rows_for("health.card_visits", 3000, 1, NOW)
    for r in rows:
        cid = r["citizen_id"]
        assert cid.startswith("371321")
        assert is_valid_citizen_id(cid), cid
        dt.date(int(cid[6:10]), int(cid[10:12]), int(cid[12:14]))  # a real date
        assert citizen_id_check_digit(cid[:17]) == cid[17]


def test_check_digit_rule_accepts_known_ids_and_rejects_wrong_ones() -> None:
    assert is_valid_citizen_id("11010519491231002X")  # the GB 11643 textbook example
    assert is_valid_citizen_id("11010519491231002x")  # keyed-in lower-case x
    assert citizen_id_check_digit("11010519491231002") == "X"
    assert not is_valid_citizen_id("110105194912310021")  # wrong check digit
    assert not is_valid_citizen_id("110105194902310027")  # 31 Feb
    assert not is_valid_citizen_id("11010519491231002")  # 17 characters
    assert not is_valid_citizen_id("11010519491231002Y")
    assert not is_valid_citizen_id(None)
    import random

    rng = random.Random(3)
    for _ in range(500):
        good = make_citizen_id(rng, dt.date(1960, 2, 29), male=rng.random() < 0.5)
        assert is_valid_citizen_id(good)
        for wrong in "0123456789X":
            if wrong != good[17]:
                assert not is_valid_citizen_id(good[:17] + wrong)


def test_patient_sex_digit_matches_the_name_pool() -> None:
    from citydata.mock.names import _FEMALE, _MALE

    rows = generators.rows_for("health.card_visits", 800, 2, NOW)
    for r in rows:
        given = r["patient_name"][-1]
        male = int(r["citizen_id"][16]) % 2 == 1
        assert given in (_MALE if male else _FEMALE), r


def test_plates_are_mostly_linyi_and_all_well_formed() -> None:
    rows = generators.rows_for("parking.sessions", 2000, 4, NOW)
    plates = [r["plate_no"] for r in rows]
    assert all(re.match(vocab.PATTERNS["plate_no"], p) for p in plates)
    assert sum(p.startswith("鲁Q") for p in plates) / len(plates) > 0.9


def test_cumulative_readings_never_decrease_per_meter_across_deliveries() -> None:
    series: dict[str, list[tuple[dt.datetime, float]]] = defaultdict(list)
    for hours in range(0, 48, 3):
        for r in generators.rows_for("gas.meter_readings", 400, 9, NOW + dt.timedelta(hours=hours)):
            series[r["meter_id"]].append((r["reading_time"], r["reading_m3"]))
    assert len(series) > 100
    for meter_id, points in series.items():
        points = sorted(set(points))
        for (t1, v1), (t2, v2) in zip(points, points[1:], strict=False):
            assert t1 == t2 or v2 >= v1, (meter_id, t1, v1, t2, v2)


def test_readings_refer_to_active_meters_of_the_registry_delivery_with_their_read_mode() -> None:
    meters = {m["meter_id"]: m for m in generators.rows_for("water.meters", 500, 3, NOW)}
    readings = generators.rows_for("water.meter_readings", 500, 3, NOW)
    for r in readings:
        m = meters[r["meter_id"]]
        assert m["status"] == "active"
        assert r["read_method"] == ("auto" if m["read_mode"] == "remote" else "manual")
        assert r["district"] == m["district"]
    auto = {r["meter_id"] for r in readings if r["read_method"] == "auto"}
    remote_active = {k for k, m in meters.items() if m["read_mode"] == "remote" and m["status"] == "active"}
    assert auto == remote_active  # every remote meter reported in the last 15 minutes
    latest = max(r["reading_time"] for r in readings)
    assert NOW - latest < dt.timedelta(minutes=15)


def test_remote_read_share_per_utility_in_the_meter_registries() -> None:
    for utility, share in vocab.REMOTE_SHARE.items():
        rows = generators.rows_for(f"{utility}.meters", 3000, 8, NOW)
        got = sum(r["read_mode"] == "remote" for r in rows) / len(rows)
        assert abs(got - share) < 0.04, (utility, got)
    assert vocab.REMOTE_SHARE["water"] >= 0.5 > vocab.REMOTE_SHARE["gas"]


def test_seasonal_daily_and_weekly_patterns() -> None:
    local = model.LOCAL
    jan = dt.datetime(2026, 1, 15, 19, tzinfo=local)
    jul = dt.datetime(2026, 7, 15, 19, tzinfo=local)
    assert model.rate(model.GAS_RATE, jan) > 2 * model.rate(model.GAS_RATE, jul)  # winter heating
    morning = dt.datetime(2026, 11, 24, 7, 30, tzinfo=local)
    night = dt.datetime(2026, 11, 24, 3, 0, tzinfo=local)
    assert model.rate(model.WATER_RATE, morning) > 3 * model.rate(model.WATER_RATE, night)  # daily peak
    for comps in (model.WATER_RATE, model.GAS_RATE):  # never negative, so cumulative never decreases
        assert min(model.rate(comps, jan + dt.timedelta(hours=h)) for h in range(0, 24 * 365, 1)) >= 0
    tue10 = dt.datetime(2026, 11, 24, 10, tzinfo=local)
    sat10 = dt.datetime(2026, 11, 28, 10, tzinfo=local)
    assert model.occupancy_share(tue10, scenic=False) > 3 * model.occupancy_share(night, scenic=False)
    assert model.occupancy_share(sat10, scenic=True) > model.occupancy_share(tue10, scenic=True)  # weekend tourists
    mon10 = dt.datetime(2026, 11, 23, 10, tzinfo=local)
    sun10 = dt.datetime(2026, 11, 29, 10, tzinfo=local)
    assert model.visit_weight(mon10) > 2 * model.visit_weight(sun10)


def test_parking_sessions_and_occupancy_are_consistent() -> None:
    lots = {r["lot_id"]: r for r in generators.rows_for("parking.lots", 30, 6, NOW)}
    for s in generators.rows_for("parking.sessions", 500, 6, NOW):
        assert s["lot_id"] in lots
        if s["status"] == "out":
            assert s["entry_time"] < s["exit_time"] == s["updated_at"] <= NOW
            assert s["fee_yuan"] >= 0
        else:
            assert s["exit_time"] is None and s["fee_yuan"] is None and s["updated_at"] == s["entry_time"]
    for o in generators.rows_for("parking.occupancy", 500, 6, NOW):
        assert 0 <= o["occupied"] <= o["capacity"] == lots[o["lot_id"]]["capacity"]
        assert o["snapshot_time"].minute % 5 == 0
