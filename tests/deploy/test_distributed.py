"""The distributed setup, natively: scripts/distributed_check.py starts PostgreSQL databases, Redis,
api-server, scheduler, dag-processor, triggerer, two Celery workers and the department mocks,
drops files for every department and checks the runs through the REST API and the warehouse.

Slow (a few minutes on 2 cores): `pytest -m slow tests/deploy/test_distributed.py`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "distributed_check.py"
# Bounds the waits of a failing or CPU-starved run; a passing run ends as soon as everything landed.
BUDGET_S = float(os.environ.get("CITYDATA_DIST_BUDGET_S", "900"))

pytestmark = [pytest.mark.slow, pytest.mark.pg, pytest.mark.airflow]


def _redis_up() -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=3):
            return True
    except OSError:
        return False


@pytest.mark.timeout(BUDGET_S + 150)
def test_watcher_triggers_celery_runs_that_load_every_file_exactly_once(
    pg_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if not _redis_up():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Redis at 127.0.0.1:6379 is required under CI=true")
        pytest.skip("Redis at 127.0.0.1:6379 is not running")
    workdir = tmp_path / "cluster"
    env = dict(os.environ, CITYDATA_TEST_PG_URL=pg_server)
    proc = subprocess.Popen([sys.executable, str(SCRIPT), "--workdir", str(workdir), "--timeout", str(BUDGET_S)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = proc.communicate(timeout=BUDGET_S + 90)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # the script stops its processes on SIGTERM
        try:
            out, _ = proc.communicate(timeout=45)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
    finally:
        _kill_leftovers(workdir / "pgids")
    print(out)  # the latency figures and, on failure, the tails of every component's log
    lines = [line for line in out.splitlines() if line.startswith("DISTRIBUTED_CHECK ")]
    assert lines, f"the check printed no summary (exit {proc.returncode})"
    summary = json.loads(lines[-1].removeprefix("DISTRIBUTED_CHECK "))
    with capsys.disabled():  # the figures belong in CI's output even when the test passes
        lat = summary["latency_s"]
        print(f"\ndistributed check: {summary['files']} files, drop-to-queryable latency "
              f"p50 {lat['p50']:.1f} s, p95 {lat['p95']:.1f} s")
        print("\n".join(line for line in out.splitlines() if line.startswith(("stage ", "  "))))
    assert summary["failures"] == [], summary["failures"]
    assert proc.returncode == 0
    assert summary["files"] >= 20
    assert set(summary["task_instances_per_host"]) <= {"citydata-worker-1", "citydata-worker-2"}
    assert summary["runs_by_type"].get("asset_triggered", 0) >= 4
    assert 0 < summary["latency_s"]["p50"] <= summary["latency_s"]["p95"]
    stages = summary["stages_median_s"]  # every stage was seen for every file (the marks come from real runs)
    assert set(stages) >= {"event", "run_created", "ingest_started", "committed"}
    assert all(summary["stage_files"][k] == summary["files"] for k in ("run_created", "ingest_started", "committed"))
    assert summary["stage_files"]["event"] >= 1


def _kill_leftovers(pgids: Path) -> None:
    """Whatever the script could not stop (it was killed itself): every process group it started."""
    if not pgids.exists():
        return
    for line in pgids.read_text().split():
        try:
            os.killpg(int(line), signal.SIGKILL)
        except (ProcessLookupError, PermissionError, ValueError):
            pass
