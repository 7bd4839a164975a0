"""Binary COPY streams (citydata.warehouse.pg_binary) land exactly the values they encode."""

from __future__ import annotations

import datetime as dt

import psycopg
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citydata.warehouse import pg_binary

SCHEMA = pa.schema([("s", pa.string()), ("t", pa.timestamp("us", tz="UTC")), ("x", pa.float64()),
                    ("n", pa.int64()), ("b", pa.bool_()), ("d", pa.date32())])
DDL = "CREATE TEMP TABLE t_bin (s text, t timestamptz, x double precision, n bigint, b boolean, d date)"

values = st.tuples(
    st.one_of(st.none(), st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))),
    st.one_of(st.none(), st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30),
                                      timezones=st.just(dt.UTC))),
    st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False)),
    st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)),
    st.one_of(st.none(), st.booleans()),
    st.one_of(st.none(), st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31))),
)


def _round_trip(conn: psycopg.Connection, table: pa.Table, part_rows: int = pg_binary.PART_ROWS) -> list[tuple]:
    conn.execute("TRUNCATE t_bin")
    order, parts = pg_binary.encode(table, part_rows)
    with conn.cursor() as cur, cur.copy(f"COPY t_bin ({', '.join(order)}) FROM STDIN (FORMAT binary)") as copy:
        for part in parts:
            copy.write(memoryview(part))
    return conn.execute("SELECT s, t, x, n, b, d FROM t_bin").fetchall()


@pytest.fixture
def conn(pg_url: str):
    with psycopg.connect(pg_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as c:
        c.execute(DDL)
        c.execute("SET TIME ZONE 'UTC'")
        yield c


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(values, max_size=20), st.integers(1, 8))
def test_every_value_and_null_lands_as_encoded(conn: psycopg.Connection, rows: list[tuple], part_rows: int) -> None:
    """Also in parts of ``part_rows`` rows, where a column with NULLs may have none in a part."""
    table = pa.Table.from_pylist([dict(zip(SCHEMA.names, r, strict=True)) for r in rows], schema=SCHEMA)
    back = _round_trip(conn, table, part_rows)
    assert sorted(back, key=repr) == sorted(rows, key=repr)


def test_columns_without_nulls_are_packed_first_and_named_in_that_order(conn: psycopg.Connection) -> None:
    rows = [("a", dt.datetime(2026, 1, 1, tzinfo=dt.UTC), 1.5, None, True, dt.date(2000, 1, 1)),
            ("界湖", dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC), -0.25, 7, False, dt.date(1970, 1, 1))]
    table = pa.Table.from_pylist([dict(zip(SCHEMA.names, r, strict=True)) for r in rows], schema=SCHEMA)
    order, _ = pg_binary.encode(table)
    assert order == ["t", "x", "b", "d", "s", "n"]  # n has a NULL, s is text: both after the packed ones
    assert _round_trip(conn, table) == rows
    assert _round_trip(conn, table.slice(1)) == rows[1:]  # a slice: buffers start at an offset


def test_an_empty_table_is_a_valid_stream(conn: psycopg.Connection) -> None:
    assert _round_trip(conn, SCHEMA.empty_table()) == []


def test_unknown_types_are_refused_by_name() -> None:
    with pytest.raises(TypeError, match="decimal"):
        pg_binary.encode(pa.table({"v": pa.array([1], pa.decimal128(5, 2))}))
    assert pg_binary.pg_type(pa.decimal128(5, 2)) is None


def test_a_table_of_fixed_width_columns_only_is_one_packed_block(conn: psycopg.Connection) -> None:
    rows = [(None, dt.datetime(2026, 1, 1, tzinfo=dt.UTC), 2.5, 3, True, dt.date(2026, 1, 1))] * 3
    table = pa.Table.from_pylist([dict(zip(SCHEMA.names, r, strict=True)) for r in rows], schema=SCHEMA).drop(["s"])
    order, parts = pg_binary.encode(table)
    assert order == ["t", "x", "n", "b", "d"] and len(list(parts)) == 3
    assert _round_trip(conn, table) == rows
