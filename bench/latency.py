"""Drop-to-queryable latency through the real components, per stage, for each executor.

Runs scripts/distributed_check.py (api-server, scheduler, dag-processor, triggerer, PostgreSQL
metadata and warehouse, the department mocks) once with the LocalExecutor and once with Celery
and two workers (Redis 127.0.0.1:6379), each dropping waves of files into the landing zone the
way departments do (write elsewhere, rename in). Prints the per-stage medians of each run and,
as its last line, over every file of every run:

    drop_to_queryable files=N p50=…s p95=…s max=…s

Knobs (environment): CITYDATA_BENCH_LATENCY_EXECUTORS ("local,celery"), CITYDATA_BENCH_LATENCY_WAVES
(5: one file per department per wave), CITYDATA_BENCH_LATENCY_ROWS (200 rows per file),
CITYDATA_BENCH_LATENCY_TIMEOUT (900 s per run). Runnable alone: `.venv/bin/python bench/latency.py`.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
CHECK = REPO / "scripts" / "distributed_check.py"
sys.path.insert(0, str(REPO / "scripts"))

from distributed_check import STAGES, percentile  # noqa: E402

EXECUTORS = [e for e in os.environ.get("CITYDATA_BENCH_LATENCY_EXECUTORS", "local,celery").split(",") if e]
WAVES = int(os.environ.get("CITYDATA_BENCH_LATENCY_WAVES", 5))
ROWS = int(os.environ.get("CITYDATA_BENCH_LATENCY_ROWS", 200))
TIMEOUT = float(os.environ.get("CITYDATA_BENCH_LATENCY_TIMEOUT", 900))


def log(msg: str) -> None:
    print(f"[latency {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run_check(executor: str) -> dict:
    """One distributed check; its summary (the DISTRIBUTED_CHECK line), with failures if any."""
    log(f"distributed check, {executor} executor: {WAVES} waves of {ROWS}-row files")
    load = os.getloadavg()[0]
    try:
        proc = subprocess.run([sys.executable, str(CHECK), "--executor", executor, "--waves", str(WAVES),
                               "--rows", str(ROWS), "--timeout", str(TIMEOUT - 60)],
                              capture_output=True, text=True, timeout=TIMEOUT, cwd=REPO, check=False)
    except subprocess.TimeoutExpired:
        return {"executor": executor, "failures": [f"no result within {TIMEOUT:.0f} s"]}
    line = next((x for x in reversed(proc.stdout.splitlines()) if x.startswith("DISTRIBUTED_CHECK ")), None)
    if line is None:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"executor": executor, "failures": [f"no summary (exit {proc.returncode}): {tail}"]}
    summary = json.loads(line.removeprefix("DISTRIBUTED_CHECK "))
    summary.setdefault("executor", executor)
    summary["load_average_before"] = round(load, 1)
    return summary


def stage_table(runs: list[dict]) -> str:
    """Stages as rows, one column of medians per run."""
    head = f"{'stage (median s, from the previous mark)':<50}" + "".join(f"{r['executor']:>10}" for r in runs)
    lines = [head]
    for key, label in STAGES:
        cells = []
        for r in runs:
            v = (r.get("stages_median_s") or {}).get(key)
            cells.append(f"{'—' if v is None else f'{v:.2f}':>10}")
        lines.append(f"{label:<50}" + "".join(cells))
    return "\n".join(lines)


def latency_line(latencies: list[float]) -> str:
    if not latencies:
        return "drop_to_queryable files=0 p50=n/a p95=n/a max=n/a"
    return (f"drop_to_queryable files={len(latencies)} p50={statistics.median(latencies):.1f}s "
            f"p95={percentile(latencies, 95):.1f}s max={max(latencies):.1f}s")


def run() -> dict:
    """Every executor's check; returns {"runs": [...], "latencies_s": [...all files...]}."""
    runs = [run_check(e) for e in EXECUTORS]
    return {"runs": runs, "latencies_s": [x for r in runs for x in r.get("latencies_s", [])]}


def main() -> int:
    result = run()
    for r in result["runs"]:
        lat = r.get("latencies_s") or []
        print(f"{r['executor']}: {latency_line(lat)}; load average {r.get('load_average_before')} → "
              f"{(r.get('load_average') or ['?'])[0]}; failures: {r.get('failures') or 'none'}")
    print(stage_table(result["runs"]))
    print(latency_line(result["latencies_s"]), flush=True)
    return 0 if all(not r.get("failures") for r in result["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
