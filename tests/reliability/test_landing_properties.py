"""The landing contract as a property (hypothesis): whatever is delivered, however it is written, and
wherever a run is killed, every row of every archived file is accounted for, and the landing zone drains.

One example: a few deliveries (valid, partly bad, broken, deeply nested JSON, NaN Parquet, older
versions of meters, exact re-deliveries), each written at once, through ``.part`` + rename, or by a
writer thread appending to the final name while runs happen; runs in-process at random moments and,
sometimes, an ingest subprocess SIGKILLed at a random moment. Then a bounded number of runs after
the writers stopped must empty the landing zone, and per file:
rows in the archived file = rows_read of each of its audit rows = loaded + quarantined + duplicate
+ stale, with quality.quarantine and quality.stale_rows holding exactly the counted rows.
Both warehouse backends; each example gets a fresh home and a fresh database.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from scripts.reliability_report import record_outcome

REPO = Path(__file__).resolve().parents[2]
TOWN = "界湖街道"
KINDS = ("good", "partial", "broken", "deep", "nan_parquet", "meters_old", "redeliver")
SETTLE = 0.25
DRAIN_RUNS = 4
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)

delivery = st.fixed_dictionaries({
    "kind": st.sampled_from(KINDS),
    "rows": st.integers(1, 25),
    "write": st.sampled_from(("at_once", "part_rename", "appending")),
    "seed": st.integers(0, 10_000),
})
plan = st.fixed_dictionaries({
    "deliveries": st.lists(delivery, min_size=1, max_size=4),
    "runs_during": st.integers(0, 2),
    "kill_after": st.one_of(st.none(), st.floats(0.5, 4.0)),
})


def _local(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%d %H:%M:%S")


def _reading_line(seed: int, i: int, bad: bool = False) -> str:
    t = _local(NOW - dt.timedelta(hours=1, minutes=i))
    return f"SW01{seed % 1000:04d}{i:04d},{t},{'-5' if bad else f'{i}.5'},80,auto,{TOWN}\n"


def _meter_line(seed: int, i: int, age: dt.timedelta) -> str:
    return (f"SW0101{i:06d},,{TOWN},residential,remote,active,2020-01-01,"  # same keys in every delivery
            f"{_local(NOW - age)}\n")


def content(d: dict, n: int) -> tuple[str, list[str] | bytes]:
    """(file name suffix, lines or bytes) of one delivery."""
    k, seed = d["kind"], d["seed"]
    head = "meter_id,reading_time,reading_m3,battery_pct,read_method,district\n"
    if k in ("good", "redeliver"):
        return ".csv", [head, *(_reading_line(seed, i) for i in range(d["rows"]))]
    if k == "partial":
        return ".csv", [head, *(_reading_line(seed, i, bad=i % 3 == 1) for i in range(d["rows"]))]
    if k == "broken":
        return ".csv", [head, _reading_line(seed, 0), 'SW0100000001,"unclosed\n']
    if k == "deep":
        return ".jsonl", ['{"meter_id": ' + "[" * 100_000 + "]" * 100_000 + "}\n"]
    if k == "meters_old":
        mhead = "meter_id,household_address,district,customer_type,read_mode,status,installed_on,updated_at\n"
        age = dt.timedelta(days=1 + n)  # later deliveries carry older versions of the same keys
        return ".csv", [mhead, *(_meter_line(seed, i, age) for i in range(d["rows"]))]
    table = pa.table({
        "meter_id": [f"SW01{seed % 1000:04d}{i:04d}" for i in range(d["rows"])],
        "reading_time": pa.array([(NOW - dt.timedelta(hours=1, minutes=i)).replace(tzinfo=None)
                                  for i in range(d["rows"])], pa.timestamp("s")),
        "reading_m3": [float("nan") if i % 4 == 0 else i + 0.5 for i in range(d["rows"])],
        "read_method": ["auto"] * d["rows"], "district": [TOWN] * d["rows"]})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return ".parquet", sink.getvalue().to_pybytes()


def deliver(landing: Path, d: dict, n: int, writers: list[threading.Thread]) -> None:
    resource = "meters" if d["kind"] == "meters_old" else "meter_readings"
    folder = landing / "water" / resource
    folder.mkdir(parents=True, exist_ok=True)
    suffix, body = content(d, n)
    final = folder / f"d{n}{suffix}"
    if isinstance(body, bytes) or d["write"] == "at_once":
        data = body if isinstance(body, bytes) else "".join(body).encode()
        final.write_bytes(data)
        return
    if d["write"] == "part_rename":
        part = final.with_name(final.name + ".part")
        part.write_text("".join(body), encoding="utf-8")
        os.rename(part, final)
        return

    def append() -> None:  # the department writes straight to the final name, pausing below the settle time
        with final.open("w", encoding="utf-8") as fh:
            for line in body:
                fh.write(line)
                fh.flush()
                time.sleep(SETTLE / 5)

    t = threading.Thread(target=append)
    t.start()
    writers.append(t)


def killed_run(env: dict[str, str], after: float) -> None:
    code = "from citydata.ingest.pipeline import ingest_department\ningest_department('water')\n"
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        proc.wait(after)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)


def file_rows(path: Path) -> int:
    if path.suffix == ".parquet":
        return pq.ParquetFile(path).metadata.num_rows
    if path.suffix == ".jsonl":
        return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    with path.open(encoding="utf-8", newline="") as fh:
        return max(sum(1 for _ in csv.reader(fh)) - 1, 0)


def check_accounting(url: str, cfg) -> dict:  # noqa: ANN001
    from citydata.warehouse.db import qualify, transaction

    summary = {"files": 0, "rows": 0, "rejected": 0, "stale": 0}
    with transaction(url) as conn:
        d = conn.dialect.name
        audit = conn.execute(text(f"SELECT * FROM {qualify('audit', 'ingest_log', d)}")).mappings().all()
        for a in audit:
            assert a["status"] in ("loaded", "partial", "rejected"), a
            assert a["rows_read"] == a["rows_loaded"] + a["rows_quarantined"] + a["rows_duplicate"] + a["rows_stale"], a
            q = conn.execute(text(f"SELECT COUNT(*) FROM {qualify('quality', 'quarantine', d)} WHERE batch_id = :b"),
                             {"b": a["batch_id"]}).scalar()
            s = conn.execute(text(f"SELECT COUNT(*) FROM {qualify('quality', 'stale_rows', d)} WHERE batch_id = :b"),
                             {"b": a["batch_id"]}).scalar()
            if a["status"] != "rejected":
                assert (q, s) == (a["rows_quarantined"], a["rows_stale"]), a
        by_source: dict[str, list] = {}
        for a in audit:
            by_source.setdefault(a["source"], []).append(a)
        for path in sorted(p for p in cfg.archive_dir.rglob("*") if p.is_file()):
            source = f"water/{path.parent.parent.name}/{path.name}"
            records = [a for a in by_source.get(source, []) if a["status"] != "rejected"]
            assert records, f"{source} archived without an audit row"
            n = file_rows(path)
            for a in records:
                assert a["rows_read"] == n, f"{source}: {n} rows in the archived file, audit read {a['rows_read']}"
            summary["files"] += 1
            summary["rows"] += n
            summary["stale"] += sum(a["rows_stale"] for a in records)
        for path in cfg.rejected_dir.rglob("*"):
            if path.is_file() and not path.name.endswith(".error.json"):
                assert Path(f"{path}.error.json").exists(), path
                summary["rejected"] += 1
    return summary


@pytest.mark.slow
@pytest.mark.timeout(1500)
@pytest.mark.parametrize("dialect", ["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def test_landing_contract_holds_for_random_deliveries_runs_and_kills(dialect: str, tmp_path: Path,
                                                                     request: pytest.FixtureRequest) -> None:
    admin = request.getfixturevalue("pg_server") if dialect == "postgresql" else None
    totals = {"examples": 0, "files": 0, "rows": 0, "rejected": 0, "stale": 0, "kills": 0}

    @settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(plan)
    @example({"deliveries": [{"kind": "meters_old", "rows": 3, "write": "at_once", "seed": 1},  # older versions
                             {"kind": "meters_old", "rows": 4, "write": "appending", "seed": 2}],
              "runs_during": 1, "kill_after": None})
    @example({"deliveries": [{"kind": "good", "rows": 25, "write": "appending", "seed": 3},  # killed mid-write
                             {"kind": "deep", "rows": 1, "write": "at_once", "seed": 4}],
              "runs_during": 0, "kill_after": 2.5})
    def run(p: dict) -> None:
        from citydata.config import settings as cfg_now
        from citydata.ingest import pipeline
        from citydata.ingest.pipeline import ingest_department
        from citydata.warehouse.db import dispose_engines

        home = tmp_path / uuid.uuid4().hex[:8]
        home.mkdir()
        dbname = None
        if admin:
            import psycopg

            dbname = f"cdp_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(admin.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as c:
                c.execute(f"CREATE DATABASE {dbname}")
            url = admin.rsplit("/", 1)[0] + f"/{dbname}"
        else:
            url = f"sqlite:///{home / 'warehouse.db'}"
        saved = {k: os.environ.get(k) for k in ("CITYDATA_HOME", "CITYDATA_WAREHOUSE_URL", "CITYDATA_STABLE_SECONDS")}
        os.environ.update(CITYDATA_HOME=str(home), CITYDATA_WAREHOUSE_URL=url, CITYDATA_STABLE_SECONDS=str(SETTLE))
        pipeline._READY.clear()
        writers: list[threading.Thread] = []
        try:
            cfg = cfg_now()
            pipeline.prepare(pipeline.load_registry(), cfg)
            for n, d in enumerate(p["deliveries"]):
                if d["kind"] == "redeliver" and n:  # the exact bytes of an earlier delivery, under a new name
                    earlier = sorted(cfg.landing_dir.rglob("d*.*")) + sorted(cfg.archive_dir.rglob("d*.*"))
                    if earlier and not earlier[0].name.endswith(".part"):
                        target = earlier[0].parent if earlier[0].is_relative_to(cfg.landing_dir) else \
                            cfg.landing_dir / "water" / earlier[0].parent.parent.name
                        target.mkdir(parents=True, exist_ok=True)
                        try:
                            (target / f"d{n}{earlier[0].suffix}").write_bytes(earlier[0].read_bytes())
                        except FileNotFoundError:  # claimed meanwhile
                            pass
                        continue
                deliver(cfg.landing_dir, d, n, writers)
                if n < p["runs_during"]:
                    ingest_department("water")
            if p["kill_after"] is not None:
                killed_run({**os.environ, "PYTHONPATH": str(REPO)}, p["kill_after"])
                totals["kills"] += 1
            for t in writers:
                t.join()
            for _ in range(DRAIN_RUNS):
                ingest_department("water")
                if not any(f.is_file() for f in cfg.landing_dir.rglob("*")):
                    break
            left = [f for f in cfg.landing_dir.rglob("*") if f.is_file()]
            assert not left, f"still in the landing zone after {DRAIN_RUNS} runs: {left}"
            assert not [f for f in (cfg.zone_root / "processing").rglob("*") if f.is_file() and f.name != ".lock"]
            summary = check_accounting(url, cfg)
            totals["examples"] += 1
            for k in ("files", "rows", "rejected", "stale"):
                totals[k] += summary[k]
        finally:
            for t in writers:
                t.join()
            dispose_engines()
            pipeline._READY.clear()
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            if dbname:
                import psycopg

                with psycopg.connect(admin.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as c:
                    c.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")

    row = {"name": f"landing_contract[{dialect}]", "injected": "", "outcome": "property failed", "rows_lost": None,
           "ok": False}
    try:
        run()
        assert totals["stale"] > 0, "the explicit example delivers older versions: some rows must be stale"
        row.update(ok=True, rows_lost=0)
    finally:
        row["injected"] = (f"{totals['examples']} random examples: deliveries of {len(KINDS)} kinds written at once, "
                           f"via .part or appended live; runs at random moments; {totals['kills']} SIGKILLed runs")
        if row["ok"]:
            row["outcome"] = (f"{totals['files']} archived files, {totals['rows']} rows all accounted "
                              f"({totals['stale']} stale), {totals['rejected']} rejected with .error.json; "
                              f"landing zone drained in ≤ {DRAIN_RUNS} runs")
        record_outcome("properties", f"landing_contract[{dialect}]", row)
