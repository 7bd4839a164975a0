"""The cursor's promise, as a property over real HTTP on both backends: with loads (new rows, changed
rows, unchanged re-deliveries) between page reads, paging never skips or repeats a row, and a changed
row comes again once, with its new version."""

from __future__ import annotations

import datetime as dt
import io
import itertools
from collections import Counter

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.exchange.conftest import load, token

EXAMPLE = itertools.count()
T0 = dt.datetime(2026, 11, 10, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))

ops = st.lists(st.one_of(
    st.tuples(st.just("load"), st.integers(0, 6), st.lists(st.integers(0, 50), max_size=4),
              st.lists(st.integers(0, 50), max_size=3)),
    st.tuples(st.just("read"), st.integers(1, 5), st.sampled_from(["json", "csv", "parquet"])),
), min_size=1, max_size=12)


def _page(api, tok: str, after: str | None, limit: int, fmt: str) -> tuple[list[tuple[str, float]], str]:  # noqa: ANN001
    r = api.get("/share/v1/resources/T-READ/rows", tok, after=after, limit=limit, format=fmt)
    assert r.status_code == 200, r.text
    if fmt == "json":
        rows = r.json()["rows"]
        assert r.json()["next"] == r.headers["x-next-cursor"]
    elif fmt == "csv":
        rows = pacsv.read_csv(io.BytesIO(r.content)).to_pylist() if r.content.strip() else []
    else:
        rows = pq.read_table(io.BytesIO(r.content)).to_pylist()
    assert len(rows) == int(r.headers["x-row-count"]) <= limit
    return [(row["meter_id"], float(row["reading_m3"])) for row in rows], r.headers["x-next-cursor"]


def _drain(api, tok: str, after: str | None, fmt: str = "json") -> tuple[list, str]:  # noqa: ANN001
    seen = []
    while True:
        rows, after = _page(api, tok, after, 7, fmt)
        seen += rows
        if len(rows) < 7:
            return seen, after


def test_paging_never_skips_or_repeats_while_loads_happen(api, registry, warehouse_url: str) -> None:  # noqa: ANN001
    tok = token("police", warehouse_url)

    @settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(ops)
    def run(steps: list) -> None:
        ex = next(EXAMPLE)
        _, cursor = _drain(api, tok, None)  # rows of earlier examples are behind this cursor
        current: dict[str, dict] = {}
        changes: Counter[str] = Counter()
        version = itertools.count(1)
        seen: list[tuple[str, float]] = []
        for step in steps:
            if step[0] == "load":
                _, new, updates, same = step
                batch = []
                keys = sorted(current)
                for i in range(new):
                    meter = f"E{ex:03d}-{(len(current) * 7919 + i * 104729) % 99991:05d}"
                    if meter in current:
                        continue
                    current[meter] = {"meter_id": meter, "reading_time": (T0 + dt.timedelta(minutes=len(current)))
                                      .isoformat(), "reading_m3": float(next(version)), "ok": True,
                                      "read_on": "2026-11-10"}
                    changes[meter] += 1
                    batch.append(current[meter])
                for i in updates:
                    if keys:
                        meter = keys[i % len(keys)]
                        if any(b["meter_id"] == meter for b in batch):
                            continue
                        current[meter] = {**current[meter], "reading_m3": float(next(version))}
                        changes[meter] += 1
                        batch.append(current[meter])
                for i in same:  # unchanged re-delivery: must not be served again
                    if keys:
                        meter = keys[i % len(keys)]
                        if not any(b["meter_id"] == meter for b in batch):
                            batch.append(current[meter])
                if batch:
                    load(registry, "readings", batch, warehouse_url)
            else:
                _, limit, fmt = step
                rows, cursor = _page(api, tok, cursor, limit, fmt)
                seen += rows
        rest, cursor = _drain(api, tok, cursor, "csv")
        seen += rest
        assert all(m.startswith(f"E{ex:03d}-") for m, _ in seen)
        assert len(seen) == len(set(seen)), "a row version was served twice"
        last = {m: v for m, v in seen}
        assert last == {m: r["reading_m3"] for m, r in current.items()}, "a row (or its last version) was skipped"
        served = Counter(m for m, _ in seen)
        assert all(served[m] <= changes[m] for m in served)
        assert _page(api, tok, cursor, 5, "json")[0] == []  # caught up

    run()
