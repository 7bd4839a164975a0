"""The tools a user would otherwise pick, on the same file in the same run, as ratios to `\\copy`.

- **dlt merge** (``write_disposition`` merge, strategy upsert, primary key (meter_id, reading_time)):
  the file read by pyarrow, loaded as Parquet through ADBC; first load into an empty dataset, then
  the same rows again (re-delivery). dlt's one-off start-up is paid before timing.
- **pandas ``DataFrame.to_sql``** (chunks of 50,000) of the first CITYDATA_BENCH_TO_SQL_ROWS rows,
  scaled to the file (the full run takes minutes and tells nothing more).

Neither validates anything. Both run in their own interpreter from a separate virtual environment,
``bench/.peers-venv`` (created here, ignored by git; never the project's requirements), through
bench/peers_worker.py. ``make bench`` calls ``run()``; ``python bench/peers.py`` runs alone
(generates the file and measures `\\copy` itself). Knobs: CITYDATA_BENCH_ROWS, CITYDATA_BENCH_REPEAT,
CITYDATA_BENCH_TO_SQL_ROWS, CITYDATA_BENCH_PEERS_VENV.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from pgdb import libpq, throwaway_database  # noqa: E402

VENV = Path(os.environ.get("CITYDATA_BENCH_PEERS_VENV", BENCH / ".peers-venv"))
# Versions of the comparison (dlt 1.31 was the independent side-by-side run's); pandas, SQLAlchemy
# and pyarrow as in the project's lock, so to_sql and Arrow are the same code as ours.
PACKAGES = ["dlt[postgres,parquet]==1.31.0", "adbc-driver-postgresql==1.13.0", "pandas==3.1.1",
            "sqlalchemy==2.1.9", "pyarrow==26.0.1", "psycopg2-binary==2.9.13"]
TO_SQL_ROWS = int(os.environ.get("CITYDATA_BENCH_TO_SQL_ROWS", 200_000))


def ensure_venv() -> Path:
    """bench/.peers-venv with PACKAGES (installed once; a changed list reinstalls)."""
    python = VENV / "bin" / "python"
    stamp = VENV / ".peers-installed"
    want = "\n".join(PACKAGES)
    if python.exists() and stamp.exists() and stamp.read_text() == want:
        return python
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    uv = Path(sys.executable).with_name("uv")
    cmd = ([str(uv), "pip", "install", "-q", "--python", str(python)] if uv.exists()
           else [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"])
    subprocess.run([*cmd, *PACKAGES], check=True)
    stamp.write_text(want)
    return python


def _worker(python: Path, *args: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="cdbench_peers_") as cwd:  # dlt looks for .dlt/ in its cwd
        out = subprocess.run([str(python), str(BENCH / "peers_worker.py"), *args], capture_output=True, text=True,
                             cwd=cwd, env={**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false"})
    if out.returncode:
        tail = (out.stderr or out.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"peers_worker.py {args[0]} failed: {' | '.join(tail)}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(csv: Path, rows: int, repeat: int = 1) -> dict:
    """dlt (first load, re-delivery) and to_sql seconds on ``csv``, each in a fresh database."""
    python = ensure_venv()
    firsts, agains, to_sql = [], [], []
    to_sql_rows = min(TO_SQL_ROWS, rows)
    for _ in range(repeat):
        with throwaway_database("cdpeers") as url:
            r = _worker(python, "dlt", libpq(url), str(csv))
            if r["rows"] != rows:
                raise RuntimeError(f"dlt loaded {r['rows']} rows of {rows}")
            firsts.append(r["first_s"])
            agains.append(r["again_s"])
        with throwaway_database("cdpeers") as url:
            t = _worker(python, "to_sql", libpq(url), str(csv), str(to_sql_rows))
            to_sql.append(t["s"] * rows / t["rows"])
    return {"dlt_first_s": firsts, "dlt_again_s": agains, "to_sql_s": to_sql, "to_sql_rows": to_sql_rows}


def rows_for(result: dict, copy_s: float, ours_first: float, ours_again: float) -> list[tuple[str, float, str]]:
    """(metric, ratio to \\copy, note) rows, our ratios (``ours_*``, as bench/run.py prints them) beside each peer."""
    first, again = statistics.median(result["dlt_first_s"]), statistics.median(result["dlt_again_s"])
    to_sql = statistics.median(result["to_sql_s"])
    return [
        ("peer: dlt 1.31 merge (upsert, Parquet via ADBC) first load / \\copy", first / copy_s,
         f"{first:.2f} s; ours {ours_first:.2f} × (ours validates, dlt does not)"),
        ("peer: dlt 1.31 merge re-delivery of the same rows / \\copy", again / copy_s,
         f"{again:.2f} s; ours {ours_again:.2f} ×"),
        ("peer: pandas DataFrame.to_sql (chunks of 50,000) / \\copy", to_sql / copy_s,
         f"{to_sql:.1f} s ({result['to_sql_rows']:,} rows scaled to the file); ours {ours_first:.2f} ×"),
    ]


def main() -> int:
    import data
    from run import psql_copy

    rows = int(os.environ.get("CITYDATA_BENCH_ROWS", 1_000_000))
    repeat = int(os.environ.get("CITYDATA_BENCH_REPEAT", 3))
    with tempfile.TemporaryDirectory(prefix="cdbench_peers_data_") as work:
        csv = data.write_csv(data.meter_readings(rows), Path(work) / f"meter_readings_{rows}.csv")
        with throwaway_database() as url:
            copy = statistics.median(psql_copy(url, csv) for _ in range(repeat))
        result = run(csv, rows)
    print(f"\\copy {rows:,} rows: {copy:.2f} s")
    for metric, ratio, note in rows_for(result, copy, float("nan"), float("nan")):
        print(f"{metric}: {ratio:.2f} ×  {note.split('; ours')[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
