"""`citydata airflow up|status|down` on a loaded machine: components in order, each healthy, real
DAG runs through the scheduler and the LocalExecutor, no executor failure, clean stop.

Slow (several minutes on 2 cores, more under CI load): the waits are generous bounds, not timings.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from citydata.app.audit import audit_rows
from tests.helpers import drop, local_text, recent, reserve_port, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.airflow]

CLI = str(Path(sys.executable).with_name("citydata"))
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
EXECUTOR_FAILURE = ("but the task instance's state attribute is queued", "finished with state failed",
                    "httpx.ReadTimeout", "ReadTimeout")
SPAM = ("InsecureKeyLengthWarning", "looks like production", "noload", "time calling it")


@pytest.fixture
def load() -> Iterator[None]:
    """One busy process per core for the whole test: the machine the issue describes."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 1)]
    try:
        yield
    finally:
        for b in burners:
            b.kill()
            b.wait()


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=timeout, check=False)


def reading(i: int) -> dict:
    return {"meter_id": f"SW01{i:08d}", "reading_time": local_text(recent()), "reading_m3": 1.5 * i,
            "battery_pct": 90, "read_method": "auto", "district": "青驼镇"}


def dag_runs(db: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(db, timeout=30) as conn:
        return conn.execute("SELECT dag_id, run_id, state FROM dag_run").fetchall()


def task_states(db: Path) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(db, timeout=30) as conn:
        return conn.execute("SELECT dag_id, task_id, state FROM task_instance").fetchall()


def stack_pids(state: Path) -> list[int]:
    pids = []
    for pid_file in state.glob("*.pid"):
        leader = int(pid_file.read_text())
        pids += [p.pid for p in psutil.process_iter() if _pgid(p.pid) == leader]
    return pids


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


@pytest.mark.timeout(3000)
@pytest.mark.pg
# The stack's behaviour does not depend on the warehouse backend (the DAG runs on both are covered by
# tests/dags/); the deployment's backend is PostgreSQL, and one start-up costs minutes.
@pytest.mark.parametrize("warehouse_url", ["postgresql"], indirect=True)
def test_up_waits_for_each_component_runs_dags_without_executor_failure_and_down_stops_all(
    warehouse_url: str, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, load: None
) -> None:
    airflow_home = tmp_path / "airflow"
    monkeypatch.setenv("AIRFLOW_HOME", str(airflow_home))
    # Only the runs this test triggers: scheduled runs would race the assertions.
    monkeypatch.setenv("AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION", "True")
    with reserve_port() as sock:
        port = sock.getsockname()[1]
    state = airflow_home / "stack"
    db = airflow_home / "airflow.db"
    try:
        up = cli("airflow", "up", "--port", str(port), "--timeout", "900", timeout=3600)
        assert up.returncode == 0, up.stderr
        started = [line.split(":")[0] for line in up.stdout.splitlines() if ": healthy" in line]
        assert started == ["api-server", "dag-processor", "scheduler", "triggerer"]

        st = cli("airflow", "status", timeout=300)
        assert st.returncode == 0, st.stdout + st.stderr
        assert all(f"{n}" in st.stdout for n in started) and "unhealthy" not in st.stdout

        # Every port the stack listens on is on the configured host (no 0.0.0.0 log servers).
        listening = {(c.laddr.ip, c.laddr.port) for pid in stack_pids(state)
                     for c in _connections(pid) if c.status == psutil.CONN_LISTEN}
        assert ("127.0.0.1", port) in listening
        assert {ip for ip, _ in listening} == {"127.0.0.1"}

        drop("water", "meter_readings", "upload.csv", [reading(i) for i in range(30)])
        wait_until(lambda: {"ingest_water", "ingest_gas", "kpi_rates"} <= _dag_ids(db), timeout=900,
                   what="DAGs parsed by the dag-processor", interval=2)
        env = _airflow_env()
        for dag_id in ("ingest_water", "ingest_gas", "kpi_rates"):
            for action in (["dags", "unpause", dag_id], ["dags", "trigger", dag_id]):
                proc = subprocess.run([AIRFLOW, *action], env=env, capture_output=True, text=True, timeout=600,
                                      check=False)
                assert proc.returncode == 0, proc.stderr[-2000:]

        def settled() -> list | None:
            runs = dag_runs(db)
            return runs if len(runs) >= 3 and all(s in ("success", "failed") for _, _, s in runs) else None

        runs = wait_until(settled, timeout=1500, what="the three triggered runs to finish", interval=3)
        tis = task_states(db)
        logs = {p.name: p.read_text(errors="replace") for p in state.glob("*.log")}
        failures = [(p, line) for p, text in logs.items() for line in text.splitlines()
                    if any(m in line for m in EXECUTOR_FAILURE)]
        assert failures == []
        assert {s for _, _, s in runs} == {"success"}, (runs, tis)
        assert tis and {s for *_, s in tis} <= {"success", "skipped"}, tis
        spam = [(p, line) for p, text in logs.items() for line in text.splitlines() if any(m in line for m in SPAM)]
        assert spam == []

        # Unpausing also creates the latest scheduled run: whichever water run took the file is named.
        water_runs = {r for d, r, _ in runs if d == "ingest_water"}
        rows = [r for r in audit_rows("water") if r["source"].endswith("upload.csv")]
        assert [r["rows_loaded"] for r in rows] == [30] and rows[0]["run_id"] in water_runs
    finally:
        down = cli("airflow", "down", "--grace", "60", timeout=900)
    assert down.returncode == 0, down.stderr
    assert [line.split(":")[0] for line in down.stdout.splitlines()] == ["triggerer", "scheduler", "dag-processor",
                                                                        "api-server"]
    assert not list(state.glob("*.pid"))
    st = cli("airflow", "status", timeout=120)
    assert st.returncode == 1 and st.stdout.count("stopped") == 4


def _connections(pid: int) -> list:
    try:
        return psutil.Process(pid).net_connections(kind="inet")
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return []


def _dag_ids(db: Path) -> set[str]:
    try:
        with sqlite3.connect(db, timeout=30) as conn:
            return {r[0] for r in conn.execute("SELECT dag_id FROM dag")}
    except sqlite3.Error:
        return set()


def _airflow_env() -> dict[str, str]:
    from citydata.app.stack import stack_config

    return stack_config().env


def test_status_and_down_without_a_stack_say_stopped(home: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    st = cli("airflow", "status")
    assert st.returncode == 1
    assert [line.split()[:2] for line in st.stdout.splitlines()[:4]] == [
        ["api-server", "stopped"], ["dag-processor", "stopped"], ["scheduler", "stopped"], ["triggerer", "stopped"]]
    assert cli("airflow", "down").returncode == 0


def test_secrets_are_long_enough_for_hs512_shared_and_private(home: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from citydata.app.airflow_env import airflow_environ

    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    first, second = airflow_environ(), airflow_environ()
    key = first["AIRFLOW__API_AUTH__JWT_SECRET"]
    assert len(key.encode()) >= 64 and key == second["AIRFLOW__API_AUTH__JWT_SECRET"]
    secret_file = tmp_path / "airflow" / "citydata-secrets.json"
    assert secret_file.stat().st_mode & 0o077 == 0
    assert json.loads(secret_file.read_text())["jwt_secret"] == key
    assert int(first["AIRFLOW__CORE__PARALLELISM"]) == 2 * (os.cpu_count() or 1)
    assert first["AIRFLOW__CORE__DEFAULT_TIMEZONE"] == "Asia/Shanghai"
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "x" * 90)  # a deployment's own key wins
    assert airflow_environ()["AIRFLOW__API_AUTH__JWT_SECRET"] == "x" * 90
