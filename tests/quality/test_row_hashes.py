"""Row and key hashes: equal rows hash equal in any batch, whatever else the batch holds."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from citydata.quality.row_hashes import key_and_row_hashes

SCHEMA = pa.schema([("id", pa.string()), ("t", pa.timestamp("us", tz="UTC")), ("x", pa.float64()),
                    ("n", pa.int64()), ("ok", pa.bool_()), ("d", pa.date32())])
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
rows = st.tuples(
    st.sampled_from(["a", "b", "界湖", "", None]),
    st.sampled_from([T0, T0 + dt.timedelta(microseconds=1), None]),
    st.sampled_from([0.0, 1.5, None]),
    st.sampled_from([0, 1, -1, None]),
    st.sampled_from([True, False, None]),
    st.sampled_from([dt.date(2026, 1, 1), dt.date(1999, 12, 31), None]),
)


def _table(part: list[tuple]) -> pa.Table:
    return pa.Table.from_pylist([dict(zip(SCHEMA.names, r, strict=True)) for r in part], schema=SCHEMA)


@settings(max_examples=300, deadline=None)
@given(st.lists(rows, min_size=1, max_size=8), st.lists(rows, min_size=1, max_size=8))
def test_equal_rows_and_keys_hash_equal_and_unequal_ones_differ(a: list[tuple], b: list[tuple]) -> None:
    # Two batches: a value hashes the same whether or not its batch has nulls in that column
    # or other values (dictionaries differ between batches).
    ka, va = key_and_row_hashes(_table(a), ["id", "t"])
    kb, vb = key_and_row_hashes(_table(b), ["id", "t"])
    for i, ra in enumerate(a):
        for j, rb in enumerate(b):
            assert (va[i] == vb[j]) == (ra == rb)
            assert (ka[i] == kb[j]) == (ra[:2] == rb[:2])
