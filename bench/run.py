"""`make bench`: every path measured against the physical reference in the same run.

Prints ONE table of ratios and writes it as JSON to bench/results/<timestamp>.json.
Data is generated here (deterministic), PostgreSQL work happens in a throw-away database
(created and dropped), each ingest runs in its own subprocess (peak RSS is its own).
Knobs (environment): CITYDATA_BENCH_ROWS (1000000), CITYDATA_BENCH_BIG_ROWS (5000000),
CITYDATA_BENCH_REPEAT (3: cheap measurements), CITYDATA_BENCH_INGEST_REPEAT (5: rounds of `\\copy`
then our first load and re-delivery; the ratios are the medians of the rounds' ratios), CITYDATA_BENCH_INGEST_ONLY (1: only \\copy and
the two PostgreSQL ingest ratios, the quick loop while working on the ingest path), CITYDATA_BENCH_TO_SQL_ROWS (200000: pandas to_sql in bench/peers.py),
CITYDATA_BENCH_KPI_ROWS_PER_DAY (10000000: the measured day), CITYDATA_BENCH_KPI_HISTORY_ROWS_PER_DAY
(1000000: the day before it, for comparison), CITYDATA_BENCH_KPI_DAYS (30), CITYDATA_BENCH_SHARE_ROWS
(CITYDATA_BENCH_ROWS: the resource the sharing API serves),
CITYDATA_BENCH_PG_URL (admin URL; default CITYDATA_TEST_PG_URL or the local `test` database).
Drop-to-queryable latency through the real Airflow components (bench/latency.py, its knobs there)
runs last; its stage table and `drop_to_queryable files=N p50=…s p95=…s max=…s` end the output.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

import data  # noqa: E402
from pgdb import libpq, throwaway_database  # noqa: E402

PY = sys.executable
ROWS = int(os.environ.get("CITYDATA_BENCH_ROWS", 1_000_000))
BIG_ROWS = int(os.environ.get("CITYDATA_BENCH_BIG_ROWS", 5_000_000))
REPEAT = int(os.environ.get("CITYDATA_BENCH_REPEAT", 3))
# Five rounds: on a 2-core VM one first load in three ran 15 % slow, and medians of three moved 3.8-4.4x.
INGEST_REPEAT = int(os.environ.get("CITYDATA_BENCH_INGEST_REPEAT", 5))
INGEST_ONLY = os.environ.get("CITYDATA_BENCH_INGEST_ONLY", "") not in ("", "0")

KPI_ROWS_PER_DAY = int(os.environ.get("CITYDATA_BENCH_KPI_ROWS_PER_DAY", 10_000_000))
KPI_HISTORY_ROWS_PER_DAY = int(os.environ.get("CITYDATA_BENCH_KPI_HISTORY_ROWS_PER_DAY", 1_000_000))
KPI_DAYS = int(os.environ.get("CITYDATA_BENCH_KPI_DAYS", 30))
SHARE_ROWS = int(os.environ.get("CITYDATA_BENCH_SHARE_ROWS", ROWS))


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def spread(values: list[float]) -> str:
    """The noise of repeated measurements: (max - min) / median."""
    if len(values) < 2:
        return "1 run"
    med = statistics.median(values)
    return f"±{(max(values) - min(values)) / med / 2:.0%} over {len(values)}" if med else "n/a"


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


# ---- references -------------------------------------------------------------------------------

def psql_copy(url: str, csv: Path) -> float:
    """`psql \\copy` of the file into a plain all-text table (the physical reference)."""
    cols = ", ".join(f"{c} TEXT" for c in data.COLUMNS)
    subprocess.run(["psql", libpq(url), "-q", "-v", "ON_ERROR_STOP=1", "-c",
                    f"CREATE TABLE bench_plain ({cols})"], check=True)
    t = timed(lambda: subprocess.run(
        ["psql", libpq(url), "-q", "-v", "ON_ERROR_STOP=1", "-c",
         f"\\copy bench_plain FROM '{csv}' (FORMAT csv, HEADER true)"], check=True))
    subprocess.run(["psql", libpq(url), "-q", "-c", "DROP TABLE bench_plain"], check=True)
    return t


def peer_rows(csv: Path, copy: float, first: float, again: float, detail: dict) -> list[dict]:
    """dlt merge and pandas to_sql on the same file (bench/peers.py, their own venv), ratios to `\\copy`;
    ``first`` and ``again`` are our ratios to `\\copy`."""
    import peers

    r = peers.run(csv, ROWS)
    log(f"peers: {r}")
    detail["peers"] = r
    out = [row(metric, ratio, "×", "—", None, note) for metric, ratio, note in peers.rows_for(r, copy, first, again)]
    to_sql = statistics.median(r["to_sql_s"]) / copy
    out.append(row("DataFrame.to_sql / our ingest", to_sql / first, "× faster", "> 1", to_sql > first,
                   f"to_sql of {r['to_sql_rows']:,} rows scaled to {ROWS:,}: {to_sql * copy:.1f} s"))
    return out


# ---- our path ---------------------------------------------------------------------------------

def ingest(url: str, files: list[Path], *, profile: Path | None = None) -> dict:
    """bench/ingest_once.py in a fresh subprocess and CITYDATA_HOME; returns its JSON report."""
    with tempfile.TemporaryDirectory(prefix="cdbench_home_") as home:
        cmd = [PY, str(BENCH / "ingest_once.py"), "--json", "--url", url, "--home", home, *map(str, files)]
        if profile:
            cmd += ["--profile", str(profile)]
        out = subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=REPO)
    if out.returncode != 0:
        tail = "\n".join((out.stderr or out.stdout).strip().splitlines()[-15:])
        raise SystemExit(f"bench: ingest_once.py failed (exit {out.returncode}):\n{tail}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    for run in result["runs"]:
        accounted = run["rows_loaded"] + run["rows_quarantined"] + run["rows_duplicate"]
        if run["status"] not in ("loaded", "partial") or accounted != run["rows_read"]:
            raise SystemExit(f"bench: ingest of {run['file']} went wrong: {run}")
    return result


def dag_parse_times(repeat: int) -> dict[str, list[float]]:
    """Seconds to execute each DAG file in a fresh interpreter that has imported airflow.sdk
    (what the DAG processor has loaded before it parses a file)."""
    code = (
        "import sys, time, importlib.util\n"
        "import airflow.sdk  # noqa\n"
        "t = time.perf_counter()\n"
        "spec = importlib.util.spec_from_file_location('bench_dag', sys.argv[1])\n"
        "spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "print(time.perf_counter() - t)\n"
    )
    from citydata.app.airflow_env import airflow_environ

    out: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="cdbench_dags_") as home:
        env = airflow_environ({**os.environ, "CITYDATA_HOME": home})
        for path in sorted((REPO / "dags").glob("*.py")):
            if path.name.startswith("_"):
                continue
            times = []
            for _ in range(repeat):
                p = subprocess.run([PY, "-c", code, str(path)], capture_output=True, text=True, env=env, cwd=REPO)
                if p.returncode:
                    raise SystemExit(f"bench: {path.name} does not parse: {p.stderr.strip().splitlines()[-1:]}")
                times.append(float(p.stdout.strip().splitlines()[-1]))
            out[path.name] = times
    return out


def kpi_days(url: str) -> dict:
    """kpi for the last of KPI_DAYS days (KPI_ROWS_PER_DAY rows) and for the day before it (history density).

    The indicators read audit.batch_events (per batch and event second), not the core rows, so
    their cost follows the seconds that hold events, not the rows. The days before those two
    are written as the counts their KPI_ROWS_PER_DAY rows would leave (bench/kpi_history.py,
    ``counts_only``; checked equal to what the triggers write): nothing reads their core rows.
    """
    import kpi_history
    from sqlalchemy import text

    from citydata.bootstrap import ensure_schema
    from citydata.domain.time import LOCAL_TZ
    from citydata.kpi.compute import compute_period
    from citydata.kpi.periods import period_for
    from citydata.registry import load_registry
    from citydata.warehouse.db import transaction

    registry = load_registry()
    ensure_schema(registry, url)
    start = dt.datetime(2026, 10, 1, tzinfo=LOCAL_TZ)
    before, last = start + dt.timedelta(days=KPI_DAYS - 2), start + dt.timedelta(days=KPI_DAYS - 1)
    t0 = time.perf_counter()
    counted = kpi_history.fill(url, registry, start=start, days=KPI_DAYS - 2, rows_per_day=KPI_ROWS_PER_DAY,
                               counts_only=True)
    t1 = time.perf_counter()
    small = kpi_history.fill(url, registry, start=before, days=1, rows_per_day=KPI_HISTORY_ROWS_PER_DAY, epoch=start,
                             first_row=counted)
    t2 = time.perf_counter()
    day = kpi_history.fill(url, registry, start=last, days=1, rows_per_day=KPI_ROWS_PER_DAY, epoch=start,
                           first_row=counted + small)
    t3 = time.perf_counter()
    out = {"status": "ok", "counted_rows": counted, "counted_fill_s": t1 - t0, "history_day_rows": small,
           "history_day_fill_s": t2 - t1, "day_rows": day, "day_fill_s": t3 - t2}
    for label, date in (("day", last.date()), ("history_day", before.date())):
        period = period_for("day", date)
        as_of = period.end + dt.timedelta(hours=1)
        with transaction(url) as conn:
            entries = conn.execute(text("SELECT count(*) FROM audit.batch_events WHERE t_event >= :s AND t_event < :e"),
                                   {"s": period.start, "e": period.end}).scalar_one()
        out[label] = {"period": period.key, "count_entries": entries,
                      "times": [timed(lambda p=period, a=as_of: compute_period(p, registry, url, as_of=a))
                                for _ in range(REPEAT)]}
    with transaction(url) as conn:
        out["count_entries_all"] = conn.execute(text("SELECT count(*) FROM audit.batch_events")).scalar_one()
    return out


def validation_rows() -> list[dict]:
    """Rows from bench/bench_validation.py (the quality engineer's ``run() -> dict``), when it exists."""
    if not (BENCH / "bench_validation.py").exists():
        return []
    import bench_validation

    r = bench_validation.run(ROWS, REPEAT)
    log(f"validation: {r}")
    note = f"{r['expectations']} expectations, {r['batches']} batches, bad rows GX {r['bad_rows_gx']} / " \
           f"pyarrow {r['bad_rows_pyarrow']} / injected {r['bad_rows_injected']}"
    return [row(f"checks of {ROWS:,} rows: built-in + GX suite", r["gx_suite_s"], "s", "—", None,
                f"{note}; GX import + first use once per process {r['suite_load_and_gx_import_s'] + r['gx_first_use_s']:.1f} s"),
            row(f"checks of {ROWS:,} rows: built-in + suite row rules as Arrow (the pipeline's)", r["arrow_rules_s"], "s",
                "—", None, f"bad rows {r['bad_rows_arrow_rules']}; GX / Arrow rules "
                f"{r['gx_suite_s'] / r['arrow_rules_s']:.2f} ×"),
            row("checks: GX suite / the same rules in vectorised pyarrow", r["ratio_gx_to_pyarrow"], "×", "—", None,
                r.get("warning", "bench/bench_validation.py"))]


def guarded(name: str, fn: Callable[[], list[dict]]) -> list[dict]:
    """An optional part that fails becomes a row saying so; the rest of the table is kept."""
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001
        log(f"{name} failed: {exc!r}")
        return [row(name, None, "", "—", None, f"failed: {str(exc).splitlines()[0][:120] if str(exc) else repr(exc)}")]


# ---- the run ----------------------------------------------------------------------------------

def row(metric: str, value: float | None, unit: str, goal: str, met: bool | None, note: str) -> dict:
    return {"metric": metric, "value": value, "unit": unit, "goal": goal,
            "met": None if met is None else bool(met), "note": note}


def main() -> int:
    started = time.time()
    load_before = os.getloadavg()
    rows: list[dict] = []
    detail: dict = {"rows": ROWS, "big_rows": BIG_ROWS, "repeat": REPEAT, "ingest_repeat": INGEST_REPEAT,
                    "ingest_only": INGEST_ONLY}
    work = Path(tempfile.mkdtemp(prefix="cdbench_data_"))
    try:
        log(f"generating {ROWS:,} meter readings (deterministic)")
        small = data.write_csv(data.meter_readings(ROWS), work / f"meter_readings_{ROWS}.csv")
        detail["file_mib"] = round(small.stat().st_size / 2**20, 1)

        # Rounds interleave the reference and ours, each in a fresh database (so the first load
        # is a first load): a background flush or checkpoint weighs on both runs of its round,
        # and each ratio is the median of the rounds' ratios. (One `\copy` series followed by
        # one ingest gave 4.0-5.1x for the same code on the same quiet machine.)
        copies, firsts, redeliveries = [], [], []
        for i in range(INGEST_REPEAT):
            with throwaway_database() as url:
                copies.append(psql_copy(url, small))
            with throwaway_database() as url:
                prof = REPO / "bench" / "results" / "profile_ingest_pg.txt" if i == 0 else None
                r = ingest(url, [small, small], profile=prof)
            firsts.append(r["runs"][0]["seconds"])
            detail.setdefault("warmup_s", []).append(round(r["warmup_s"], 2))
            redeliveries.append(r["runs"][1]["seconds"])
            log(f"round {i + 1}: \\copy {copies[-1]:.2f} s, PostgreSQL ingest: first {firsts[-1]:.2f} s "
                f"({firsts[-1] / copies[-1]:.2f}x), re-delivery {redeliveries[-1]:.2f} s ({redeliveries[-1] / copies[-1]:.2f}x)")
        detail["accounting_first"] = {k: r["runs"][0][k] for k in ("rows_read", "rows_loaded", "rows_quarantined", "rows_duplicate")}
        detail["accounting_redelivery"] = {k: r["runs"][1][k] for k in ("rows_read", "rows_loaded", "rows_quarantined", "rows_duplicate")}
        copy = statistics.median(copies)
        first, again = statistics.median(firsts), statistics.median(redeliveries)
        r_first = statistics.median(f / c for f, c in zip(firsts, copies, strict=True))
        r_again = statistics.median(a / c for a, c in zip(redeliveries, copies, strict=True))
        detail["copy_s"], detail["first_s"], detail["redelivery_s"] = copies, firsts, redeliveries
        rows.append(row(f"ingest {ROWS:,} rows (read+checks+quarantine+upsert+audit) / \\copy", r_first, "×",
                        "≤ 4", r_first <= 4,
                        f"median of {len(firsts)} rounds; {first:.2f} s vs \\copy {copy:.2f} s; ingest {spread(firsts)}, "
                        f"\\copy {spread(copies)}"))
        rows.append(row(f"re-delivery of the same {ROWS:,} rows / \\copy", r_again, "×", "≤ 4", r_again <= 4,
                        f"median of {len(redeliveries)} rounds; {again:.2f} s, 0 rows changed; {spread(redeliveries)}"))
        if INGEST_ONLY:
            return 0  # the table and its JSON are still written (finally, below)
        rows += guarded("peers (bench/peers.py)", lambda: peer_rows(small, copy, r_first, r_again, detail))

        big = data.write_csv(data.meter_readings(BIG_ROWS), work / f"meter_readings_{BIG_ROWS}.csv")
        with throwaway_database() as url:
            rss_small = ingest(url, [small])["peak_rss_mib"]
        with throwaway_database() as url:
            r_big = ingest(url, [big])
        rss_big = r_big["peak_rss_mib"]
        log(f"peak RSS {ROWS:,}: {rss_small:.0f} MiB, {BIG_ROWS:,}: {rss_big:.0f} MiB "
            f"(ingest {r_big['runs'][0]['seconds']:.1f} s)")
        rows.append(row(f"peak RSS {BIG_ROWS:,} rows / {ROWS:,} rows", rss_big / rss_small, "×", "≤ 1.5",
                        rss_big / rss_small <= 1.5, f"{rss_big:.0f} MiB vs {rss_small:.0f} MiB, separate subprocesses"))

        with tempfile.TemporaryDirectory(prefix="cdbench_sqlite_") as sq:
            r = ingest(f"sqlite:///{sq}/warehouse.db", [small, small])
        s_first, s_again = r["runs"][0]["seconds"], r["runs"][1]["seconds"]
        log(f"SQLite ingest: first {s_first:.2f} s, re-delivery {s_again:.2f} s")
        rows.append(row(f"SQLite (embedded default) ingest {ROWS:,} rows / \\copy", s_first / copy, "×", "—", None,
                        f"{s_first:.2f} s, 1 run"))
        rows.append(row("SQLite re-delivery / \\copy", s_again / copy, "×", "—", None, f"{s_again:.2f} s, 1 run"))

        def parse_rows() -> list[dict]:
            out = []
            for name, times in dag_parse_times(REPEAT).items():
                log(f"parse dags/{name}: {[round(t, 3) for t in times]} s")
                med = statistics.median(times)
                out.append(row(f"parse dags/{name}", med, "s", "≤ 0.3", med <= 0.3,
                               f"fresh interpreter each (airflow.sdk imported first); {spread(times)}"))
            return out

        rows += guarded("parse dags/*.py", parse_rows)

        rows += guarded("kpi_rates, one day over 30 days of history", lambda: kpi_rows(detail))
        rows += guarded("validation (bench/bench_validation.py)", validation_rows)
        rows += guarded("sharing API (bench/share_api.py)", lambda: share_api_rows(detail))
        rows += guarded("drop-to-queryable (bench/latency.py)", lambda: latency_rows(detail))
    finally:
        shutil.rmtree(work, ignore_errors=True)
        detail["load_average_before_after"] = [round(x, 1) for x in (load_before[0], os.getloadavg()[0])]
        detail["wall_s"] = round(time.time() - started, 1)
        print(render(rows, detail))
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        out = REPO / "bench" / "results" / f"{stamp}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"timestamp": stamp, "rows": rows, "detail": detail}, ensure_ascii=False, indent=2))
        print(f"\nwritten {out.relative_to(REPO)}; {detail['wall_s']:.0f} s in all; load average "
              f"{detail['load_average_before_after'][0]} → {detail['load_average_before_after'][1]} on {os.cpu_count()} cores")
        if "latency" in detail:  # bench/latency.py's stage table and its last line
            print(f"\n{detail['latency']['stages']}\n{detail['latency']['line']}")
    return 0


def kpi_rows(detail: dict) -> list[dict]:
    with throwaway_database() as url:
        k = kpi_days(url)
    log(f"kpi: {k}")
    detail["kpi"] = k
    day, hist = k["day"], k["history_day"]
    med = statistics.median(day["times"])
    return [
        row(f"kpi_rates one day at {KPI_ROWS_PER_DAY:,} rows/day, {KPI_DAYS} days of history", med, "s", "≤ 5",
            med <= 5, f"measured: the day's {k['day_rows']:,} core rows (written in {k['day_fill_s']:.0f} s); "
            f"{KPI_DAYS - 2} days before at the same rate as counts only ({k['counted_rows']:,} rows, "
            f"{k['counted_fill_s']:.0f} s); it reads {day['count_entries']:,} of {k['count_entries_all']:,} "
            f"batch/second counts; {spread(day['times'])}"),
        row(f"kpi_rates one day at {KPI_HISTORY_ROWS_PER_DAY:,} rows/day (same warehouse)",
            statistics.median(hist["times"]), "s", "—", None,
            f"{k['history_day_rows']:,} core rows; {hist['count_entries']:,} batch/second counts; {spread(hist['times'])}"),
    ]


def share_api_rows(detail: dict) -> list[dict]:
    """The sharing API serving SHARE_ROWS rows as CSV and as Parquet / COPY (SELECT …) TO STDOUT, same run."""
    import share_api

    r = share_api.run(SHARE_ROWS, REPEAT)
    log(f"share api: {r}")
    detail["share_api"] = r
    copy = statistics.median(r["copy_s"])
    out = []
    for fmt in ("parquet", "csv"):
        ratio = r[f"ratio_{fmt}"]
        out.append(row(f"sharing API {SHARE_ROWS:,} rows as {fmt} / COPY (SELECT …) TO STDOUT", ratio, "×", "≤ 3",
                       ratio <= 3, f"{statistics.median(r[f'{fmt}_s']):.2f} s vs COPY {copy:.2f} s; "
                       f"{spread(r[f'{fmt}_s'])}; {r[f'{fmt}_bytes'] / 2**20:.1f} MiB"))
    out.append(row("sharing API server peak RSS", r["rss_peak_mib"], "MiB", "—", None,
                   f"idle {r['rss_idle_mib']:.0f} MiB; pages stream in {65536:,}-row record batches"))
    return out


def latency_rows(detail: dict) -> list[dict]:
    """Drop-to-queryable through the real components, LocalExecutor and Celery (bench/latency.py)."""
    import latency

    result = latency.run()
    runs = result["runs"]
    detail["latency"] = {"runs": runs, "stages": latency.stage_table(runs),
                         "line": latency.latency_line(result["latencies_s"])}
    out = []
    for r in runs:
        lat = r.get("latencies_s") or []
        p95 = latency.percentile(lat, 95) if lat else None
        out.append(row(f"drop-to-queryable p95, {r['executor']} executor", p95, "s", "≤ 30 (quiet machine)",
                       None if p95 is None else p95 <= 30,
                       f"{len(lat)} files; load average {r.get('load_average_before')}; "
                       f"failures: {'; '.join(r.get('failures') or []) or 'none'}"[:300]))
    return out


def render(rows: list[dict], detail: dict) -> str:
    from citydata.render.table import render_table

    return render_table(["metric", "value", "goal", "met", "note"], [
        [r["metric"], "n/a" if r["value"] is None else f"{r['value']:.2f} {r['unit']}", r["goal"],
         {True: "yes", False: "NO", None: "—"}[r["met"]], r["note"]] for r in rows])


if __name__ == "__main__":
    sys.exit(main())
