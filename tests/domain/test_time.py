"""Naive local times convert to UTC by arithmetic after the zone's last offset change, exactly as
the time-zone database converts them (coerce.local_to_utc)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from citydata.domain.time import FIXED_OFFSET, FIXED_SINCE, LOCAL_TZ, LOCAL_TZ_NAME
from citydata.ingest.coerce import coerce_column, local_to_utc
from citydata.registry import FieldSpec


def _database(values: list[dt.datetime | None]) -> list:
    arr = pa.array(values, pa.timestamp("us"))
    return pc.cast(pc.assume_timezone(arr, LOCAL_TZ_NAME, ambiguous="earliest", nonexistent="earliest"),
                   pa.timestamp("us", tz="UTC")).to_pylist()


def test_the_zone_has_one_offset_from_fixed_since_on() -> None:
    day = FIXED_SINCE
    while day.year < 2200:  # zoneinfo's rule for the far future included
        assert day.replace(tzinfo=LOCAL_TZ).utcoffset() == FIXED_OFFSET, day
        assert day.replace(tzinfo=LOCAL_TZ, fold=1).utcoffset() == FIXED_OFFSET, day
        day += dt.timedelta(days=1, minutes=17)
    # and it had another one just before (the bound is the last change, not an arbitrary date)
    assert (FIXED_SINCE - dt.timedelta(minutes=31)).replace(tzinfo=LOCAL_TZ).utcoffset() != FIXED_OFFSET


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(2200, 1, 1)),
                          st.datetimes(FIXED_SINCE - dt.timedelta(days=2), FIXED_SINCE + dt.timedelta(days=2))),
                min_size=1, max_size=30))
def test_local_to_utc_equals_the_time_zone_database(values: list[dt.datetime | None]) -> None:
    assert local_to_utc(pa.array(values, pa.timestamp("us"))).to_pylist() == _database(values)
    recent = [v for v in values if v is None or v >= FIXED_SINCE]  # the arithmetic path alone
    assert local_to_utc(pa.array(recent, pa.timestamp("us"))).to_pylist() == _database(recent)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.datetimes(dt.datetime(1980, 1, 1), dt.datetime(2100, 1, 1)).map(
    lambda d: d.strftime("%Y-%m-%d %H:%M:%S")), st.sampled_from(["2026-11-01", "2026-11-01 08:00:00+08:00",
                                                                  "2026-11-01T00:00Z", "2026-11-01 08:00 -05",
                                                                  "x", "", "１"])), min_size=1, max_size=20))
def test_timestamp_text_coerces_as_the_per_value_parser_does(values: list[str | None]) -> None:
    typed, bad = coerce_column(pa.array(values, pa.string()), FieldSpec(name="t", type="timestamp"))
    for v, got, invalid in zip(values, typed.to_pylist(), bad.to_pylist(), strict=True):
        if v is None or not v.strip() or invalid:
            continue
        want = dt.datetime.fromisoformat(v.replace("Z", "+00:00").replace(" -05", "-05:00"))
        if want.tzinfo is None and len(v) > 10:
            want = want.replace(tzinfo=LOCAL_TZ)
        elif want.tzinfo is None:
            continue  # a date alone: not a local wall time (see coerce._to_timestamp)
        assert got == want.astimezone(dt.UTC), v
