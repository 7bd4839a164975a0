"""`citydata demo`: the main job on the embedded default, end to end through Airflow.

Mock deliveries for every department → every ingest DAG (with the parking API and the health
database mocks running) → rows per resource → the outbox → kpi_rates → indicators and a report.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from email import message_from_bytes, policy
from pathlib import Path

from citydata.app.airflow_env import dags_test, ensure_metadata_db, lineage_file
from citydata.app.audit import audit_rows
from citydata.config import settings
from citydata.exchange.demo_step import exchange_step
from citydata.kpi.present import kpi_table
from citydata.kpi.read import read_kpis
from citydata.mock.generate import generate
from citydata.mock.run import patched_environ, running_mocks
from citydata.registry import Registry, load_registry
from citydata.render.table import render_table
from citydata.reports.kpi_report import write_kpi_report

# A few defective rows in one department's mock deliveries, so the demo shows a quality email
# (row-level defect kinds only: the files load partially instead of being rejected).
DEMO_DEFECT_RATES = {"water": 0.03}
SUMMARY_COLUMNS = ["department", "resource", "files", "loaded", "quarantined", "duplicate", "rejected_files"]


def _step(msg: str) -> None:
    print(f"==> {msg}", flush=True)


def _dag_run(dag_id: str) -> bool:
    """One run through Airflow (`airflow dags test`), timed; True when it succeeded."""
    started = time.monotonic()
    code = dags_test(dag_id, quiet=True)
    print(f"    {dag_id}: {'ok' if code == 0 else f'failed (exit {code})'} in {time.monotonic() - started:.1f}s")
    return code == 0


def generate_step(registry: Registry, rows: int, seed: int) -> None:
    _step(f"generating mock deliveries into {settings().landing_dir}")
    for dept in registry.departments:
        paths = generate(registry, dept, rows=rows, seed=seed, defect_rate=DEMO_DEFECT_RATES.get(dept, 0.0))
        print(f"    {dept}: {len(paths)} file(s)")


def ingest_step(registry: Registry, seed: int) -> list[str]:
    """Every ingest_<department> DAG once, with the mock API and database running; the DAG ids that failed."""
    _step("preparing the Airflow metadata database")
    ensure_metadata_db()
    failed = []
    _step("starting the parking department's HTTP API and the health department's database (mocks)")
    with running_mocks(seed) as mock_env, patched_environ(mock_env):
        print(f"    parking API {mock_env['CITYDATA_PARKING_API_URL']}, health DB {mock_env['CITYDATA_HEALTH_DB_URL']}")
        for dept in registry.departments:
            _step(f"running ingest_{dept} through Airflow")
            if not _dag_run(f"ingest_{dept}"):
                failed.append(f"ingest_{dept}")
    return failed


def summarise(registry: Registry, since_batch: int) -> list[dict]:
    """Files and rows per resource of the deliveries audited after ``since_batch``."""
    def empty(department: str, resource: str) -> dict:
        return {"department": department, "resource": resource, "files": 0, "loaded": 0, "quarantined": 0,
                "duplicate": 0, "rejected_files": 0}

    summary = {(r.department, r.name): empty(r.department, r.name) for r in registry.resources}
    for a in audit_rows(since_batch=since_batch):
        s = summary.setdefault((a["department"], a["resource"]), empty(a["department"], a["resource"]))
        s["files"] += 1
        s["loaded"] += a["rows_loaded"]
        s["quarantined"] += a["rows_quarantined"]
        s["duplicate"] += a["rows_duplicate"]
        s["rejected_files"] += a["status"] == "rejected"
    return list(summary.values())


def outbox_step(step: Callable[[str], None], since: float = 0.0) -> list[Path]:
    """Print the emails written to the outbox by this demo (files newer than ``since``)."""
    outbox = settings().outbox_dir
    files = sorted(p for p in outbox.glob("*.eml") if p.stat().st_mtime >= since) if outbox.is_dir() else []
    step(f"emails in the outbox ({outbox}): {len(files)} new")
    kinds: Counter[str] = Counter()
    for path in files:
        msg = message_from_bytes(path.read_bytes(), policy=policy.default)
        kinds[str(msg["X-Citydata-Kind"])] += 1
        print(f"    [{msg['X-Citydata-Kind']}] {msg['To']}: {msg['Subject']}\n      {path}")
    if files:
        print("    " + ", ".join(f"{k}: {n}" for k, n in sorted(kinds.items())) +
              "  (no smtp_default connection: written as .eml instead of sent; open them in any mail client)")
    return files


def kpi_step(step: Callable[[str], None]) -> list[str]:
    """Run kpi_rates through Airflow, print today's indicator table and write this month's report.

    Returns the DAG ids that failed (the table is then computed in-process, so it still prints).
    """
    step("running kpi_rates through Airflow (indicators into the kpi tables)")
    failed = [] if _dag_run("kpi_rates") else ["kpi_rates"]
    step("indicators against the county's targets (80% / 80% / 50%)")
    rows = read_kpis("day")
    print(kpi_table(rows))
    path = write_kpi_report(rows[0]["period"][:7])
    print(f"\nmonthly report: {path}")
    return failed


def run_demo(rows: int = 200, seed: int = 2022, as_json: bool = False) -> int:
    cfg = settings()
    registry = load_registry()
    t0 = time.monotonic()
    started_at = time.time()
    before = max((r["batch_id"] for r in audit_rows()), default=0)

    generate_step(registry, rows, seed)
    failed = ingest_step(registry, seed)
    summary = summarise(registry, before)
    if as_json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        _step("rows per resource")
        print(render_table(SUMMARY_COLUMNS, [[s[c] for c in SUMMARY_COLUMNS] for s in summary]))
        print(f"\nwarehouse: {cfg.warehouse_url}\naudit:     citydata audit --json\n"
              f"landing:   {cfg.landing_dir}\nlineage:   {lineage_file(cfg.home)} (docs/lineage.md)\ndone in {time.monotonic() - t0:.1f}s")
        outbox_step(_step, since=started_at)  # quality emails to owners, alerts to engineers
        failed += kpi_step(_step)
        exchange_step(_step)  # a consumer department reads a shared resource through the sharing API
        print("\nThis run delivered a whole day at once, so the real-time rates are honestly low. To see the\n"
              "platform as it is meant to run (Airflow components up, departments delivering every few\n"
              "minutes, indicators of that window): citydata demo --live 10")
    if failed:
        print(f"citydata: error: DAG run(s) failed: {', '.join(failed)}", flush=True)
        return 1
    return 0
