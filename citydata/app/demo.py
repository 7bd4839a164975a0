"""`citydata demo`: the main job on the embedded default, end to end through Airflow."""

from __future__ import annotations

import json
import time

from citydata.app.airflow_env import dags_test, ensure_metadata_db
from citydata.app.audit import audit_rows
from citydata.config import settings
from citydata.mock.generate import generate
from citydata.mock.run import patched_environ, running_mocks
from citydata.registry import load_registry
from citydata.render.table import render_table


def _step(msg: str) -> None:
    print(f"==> {msg}", flush=True)


def run_demo(rows: int = 200, seed: int = 2022, as_json: bool = False) -> int:
    cfg = settings()
    registry = load_registry()
    t0 = time.monotonic()
    started_at = time.time()
    before = max((r["batch_id"] for r in audit_rows()), default=0)

    _step(f"generating mock deliveries into {cfg.landing_dir}")
    from citydata.app.demo_notify import DEMO_DEFECT_RATES, outbox_step

    for dept in registry.departments:
        paths = generate(registry, dept, rows=rows, seed=seed, defect_rate=DEMO_DEFECT_RATES.get(dept, 0.0))
        print(f"    {dept}: {len(paths)} file(s)")

    _step("preparing the Airflow metadata database")
    ensure_metadata_db()
    failed = []
    _step("starting the parking department's HTTP API and the health department's database (mocks)")
    with running_mocks(seed) as mock_env, patched_environ(mock_env):
        print(f"    parking API {mock_env['CITYDATA_PARKING_API_URL']}, health DB {mock_env['CITYDATA_HEALTH_DB_URL']}")
        for dept in registry.departments:
            dag_id = f"ingest_{dept}"
            _step(f"running {dag_id} through Airflow")
            started = time.monotonic()
            code = dags_test(dag_id, quiet=True)
            print(f"    {dag_id}: {'ok' if code == 0 else f'failed (exit {code})'} in {time.monotonic() - started:.1f}s")
            if code != 0:
                failed.append(dag_id)

    rows_out = audit_rows(since_batch=before)
    summary: dict[tuple[str, str], dict] = {}
    for r in registry.resources:
        summary[(r.department, r.name)] = {"department": r.department, "resource": r.name, "files": 0, "loaded": 0,
                                           "quarantined": 0, "duplicate": 0, "rejected_files": 0}
    for a in rows_out:
        s = summary.setdefault((a["department"], a["resource"]), {"department": a["department"], "resource": a["resource"],
                               "files": 0, "loaded": 0, "quarantined": 0, "duplicate": 0, "rejected_files": 0})
        s["files"] += 1
        s["loaded"] += a["rows_loaded"]
        s["quarantined"] += a["rows_quarantined"]
        s["duplicate"] += a["rows_duplicate"]
        s["rejected_files"] += a["status"] == "rejected"
    if as_json:
        print(json.dumps(list(summary.values()), ensure_ascii=False, indent=2))
    else:
        _step("rows per resource")
        cols = ["department", "resource", "files", "loaded", "quarantined", "duplicate", "rejected_files"]
        print(render_table(cols, [[s[c] for c in cols] for s in summary.values()]))
        print(f"\nwarehouse: {cfg.warehouse_url}\naudit:     citydata audit --json\n"
              f"landing:   {cfg.landing_dir}\ndone in {time.monotonic() - t0:.1f}s")
        outbox_step(_step, since=started_at)  # quality emails to owners, alerts to engineers
    if not as_json:
        from citydata.app.demo_kpi import kpi_step

        failed += kpi_step(_step)
    if failed:
        print(f"citydata: error: DAG run(s) failed: {', '.join(failed)}", flush=True)
        return 1
    return 0
