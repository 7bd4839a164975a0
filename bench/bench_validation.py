"""Validation of a 1M-row water-meter CSV with its GX suite vs the same rules in vectorised pyarrow.

Both sides see the same typed batches (read + coerce are timed separately, they are shared
by both paths) and must flag the same rows. Prints a table and writes
bench/results/bench_validation.json. Standalone (``python bench/bench_validation.py
[--rows N] [--repeat R]``) and importable (``run() -> dict``) for bench/run.py.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
sys.path.insert(0, str(BENCH))

import data  # noqa: E402  (bench/data.py: deterministic synthetic deliveries)

KEY = ("water", "meter_readings")


def _median(fn, repeat: int) -> tuple[float, object]:  # noqa: ANN001
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def gx_path(coerced: list, resource, columns: list[str], engine: str = "gx") -> int:  # noqa: ANN001
    """The pipeline's own checks (built-in type/required + the suite), as load_batches runs them:
    engine "gx" runs every suite rule through GX, "arrow" (the pipeline's default) the row rules
    as Arrow compute compiled from the suite (citydata.quality.arrow_rules)."""
    import os

    from citydata.quality.checks import begin_delivery, finish_delivery, run_checks
    from citydata.quality.suites import checks_for

    before = os.environ.get("CITYDATA_ROW_RULES")
    os.environ["CITYDATA_ROW_RULES"] = engine
    try:
        checks = checks_for(resource)
    finally:
        if before is None:
            os.environ.pop("CITYDATA_ROW_RULES")
        else:
            os.environ["CITYDATA_ROW_RULES"] = before
    assert not begin_delivery(checks, columns).batch_errors
    bad = 0
    for c in coerced:
        bad += int(run_checks(checks, c, resource).error_mask(c.table.num_rows).sum())
    finish_delivery(checks, sum(c.table.num_rows for c in coerced))
    return bad


def pyarrow_path(coerced: list, resource, params: dict) -> int:  # noqa: ANN001
    """The same error-severity rules hand-written in pyarrow.compute."""
    p = params
    fields = {f.name for f in resource.fields}

    def pk(name: str, what: str) -> object:
        return p[f"water__meter_readings__{name}__{what}"]

    bad = 0
    seen_keys: list[pa.Table] = []
    for c in coerced:
        t = c.table
        n = t.num_rows
        mask = np.zeros(n, dtype=bool)
        for m in c.invalid.values():
            mask |= m.to_numpy(zero_copy_only=False)
        for col in resource.required_fields:
            mask |= pc.is_null(t[col]).to_numpy(zero_copy_only=False)

        def fails(cond: pa.ChunkedArray) -> np.ndarray:  # null → passes (nulls are the required check's job)
            return pc.invert(cond).fill_null(False).to_numpy(zero_copy_only=False)

        mask |= fails(pc.match_substring_regex(t["meter_id"], pk("meter_id", "regex")))
        mask |= fails(pc.and_(pc.greater_equal(t["reading_m3"], pk("reading_m3", "min")),
                              pc.less_equal(t["reading_m3"], pk("reading_m3", "max"))))
        mask |= fails(pc.and_(pc.greater_equal(t["battery_pct"], pk("battery_pct", "min")),
                              pc.less_equal(t["battery_pct"], pk("battery_pct", "max"))))
        mask |= fails(pc.is_in(t["read_method"], pa.array(pk("read_method", "values"))))
        mask |= fails(pc.is_in(t["district"], pa.array(p["townships"])))
        ts = t[resource.event_time]
        mask |= fails(pc.less_equal(ts, pa.scalar(p["event_time_max"], ts.type)))
        mask |= fails(pc.greater_equal(ts, pa.scalar(p["event_time_min"], ts.type)))
        keys = t.select(list(resource.primary_key))
        seen_keys.append(keys)
        assert fields >= set(keys.column_names)
        bad += int(mask.sum())
    allkeys = pa.concat_tables(seen_keys)
    dup = allkeys.group_by(list(resource.primary_key)).aggregate([([], "count_all")])
    assert pc.max(dup["count_all"]).as_py() == 1  # the bench data has unique keys
    return bad


def run(rows: int = 1_000_000, repeat: int = 3, out_dir: Path | None = None) -> dict:
    from citydata.ingest.coerce import coerce_batch
    from citydata.ingest.pipeline import CHECK_BATCH_ROWS, coalesce
    from citydata.ingest.readers import read_file
    from citydata.quality.suites import suite_for
    from citydata.registry import load_registry

    resource = load_registry().resource(*KEY)
    t0 = time.perf_counter()
    suite = suite_for(resource)  # reads and checks the suite; imports GX (once per process)
    t_load = time.perf_counter() - t0
    if suite is None:
        raise SystemExit(f"no suite for {resource.key}")
    with tempfile.TemporaryDirectory() as tmp:
        csv = data.write_csv(data.meter_readings(rows), Path(tmp) / "readings.csv")
        size = csv.stat().st_size
        # The merged batches load_batches checks when a rule calls GX (CHECK_BATCH_ROWS; without GX it cuts
        # ARROW_CHECK_BATCH_ROWS: see citydata.ingest.pipeline.check_batch_rows).
        t_read, batches = _median(lambda: list(coalesce(read_file(csv).batches, CHECK_BATCH_ROWS)), 1)
        columns = read_file(csv).columns
    t_coerce, coerced = _median(lambda: [coerce_batch(b, resource) for b in batches], 1)
    # Warm up: import GX and build the context once (a per-process cost, measured separately).
    t0 = time.perf_counter()
    gx_path([coerce_batch(batches[0].slice(0, 100), resource)], resource, columns)
    t_warm = time.perf_counter() - t0
    t_gx, bad_gx = _median(lambda: gx_path(coerced, resource, columns), repeat)
    t_arrow, bad_arrow = _median(lambda: gx_path(coerced, resource, columns, "arrow"), repeat)
    params = suite.parameters()
    t_pa, bad_pa = _median(lambda: pyarrow_path(coerced, resource, params), repeat)
    expected = data.defects(rows)
    result = {
        "benchmark": "validation",
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "rows": rows, "csv_mib": round(size / 2**20, 1), "batches": len(batches), "repeat": repeat,
        "suite": str(suite.path.name), "expectations": len(suite.rules),
        "read_s": round(t_read, 3), "coerce_s": round(t_coerce, 3), "suite_load_and_gx_import_s": round(t_load, 3), "gx_first_use_s": round(t_warm, 3),
        "gx_suite_s": round(t_gx, 3), "arrow_rules_s": round(t_arrow, 3), "bad_rows_arrow_rules": bad_arrow,
        "pyarrow_s": round(t_pa, 3), "ratio_gx_to_pyarrow": round(t_gx / t_pa, 2),
        "bad_rows_gx": bad_gx, "bad_rows_pyarrow": bad_pa, "bad_rows_injected": expected,
    }
    if bad_gx != bad_pa or bad_gx != expected or bad_arrow != bad_gx:
        result["warning"] = "the two paths disagree on bad rows"
    out_dir = out_dir or RESULTS
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "bench_validation.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


def print_table(r: dict) -> None:
    print(f"validation of {r['rows']:,} water readings ({r['csv_mib']} MiB CSV, {r['batches']} batches, "
          f"suite {r['suite']} with {r['expectations']} expectations), medians of {r['repeat']}")
    rows = [("read CSV (shared)", r["read_s"]), ("coerce to registry types (shared)", r["coerce_s"]),
            ("load suite + import GX (once per process)", r["suite_load_and_gx_import_s"]),
            ("GX context + first validation (once per process)", r["gx_first_use_s"]),
            ("checks: built-in + GX suite", r["gx_suite_s"]),
            ("checks: built-in + suite row rules as Arrow (the pipeline's)", r["arrow_rules_s"]),
            ("same rules, hand-written pyarrow", r["pyarrow_s"])]
    for name, s in rows:
        print(f"  {name:<52}{s:>8.3f} s")
    print(f"  {'ratio GX / pyarrow':<52}{r['ratio_gx_to_pyarrow']:>8.2f} x")
    print(f"  bad rows: GX {r['bad_rows_gx']}, pyarrow {r['bad_rows_pyarrow']}, injected {r['bad_rows_injected']}")
    if "warning" in r:
        print("  WARNING:", r["warning"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print_table(run(args.rows, args.repeat))
    return 0


if __name__ == "__main__":
    sys.exit(main())
