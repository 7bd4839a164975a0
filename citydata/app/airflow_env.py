"""Run Airflow with the project's settings, as a subprocess (the core library never imports Airflow)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from citydata.config import REPO_ROOT, settings
from citydata.errors import CitydataError


def airflow_environ(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for any Airflow process of this project (CLI, scheduler, api-server…).

    Settings already present in the environment win, so a deployment can override any.
    """
    env = dict(os.environ if base is None else base)
    cfg = settings()
    home = cfg.airflow_home
    defaults = {
        "AIRFLOW_HOME": str(home),
        "CITYDATA_HOME": str(cfg.home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__API__EXPOSE_CONFIG": "False",
    }
    for key, value in defaults.items():
        env.setdefault(key, value)
    return env


def airflow_bin() -> str:
    candidate = Path(sys.executable).with_name("airflow")
    found = str(candidate) if candidate.exists() else shutil.which("airflow")
    if not found:
        raise CitydataError("the 'airflow' command is not installed in this environment (run 'make demo' to set up)")
    return found


def run_airflow(args: list[str], *, quiet: bool = False, timeout: float | None = None) -> subprocess.CompletedProcess:
    env = airflow_environ()
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    out = subprocess.PIPE if quiet else None
    return subprocess.run([airflow_bin(), *args], env=env, stdout=out, stderr=out, text=True, timeout=timeout, check=False)


def ensure_metadata_db() -> None:
    """Migrate Airflow's metadata DB once (a marker avoids re-running it on every call)."""
    env = airflow_environ()
    marker = Path(env["AIRFLOW_HOME"]) / ".migrated"
    stamp = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    if marker.exists() and marker.read_text() == stamp:
        return
    proc = run_airflow(["db", "migrate"], quiet=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-1:]
        raise CitydataError(f"airflow db migrate failed: {tail[0] if tail else 'no output'}")
    marker.write_text(stamp)


def dags_test(dag_id: str, *, quiet: bool = False) -> int:
    """Run one DAG once, as `airflow dags test` does; returns its exit code."""
    ensure_metadata_db()
    proc = run_airflow(["dags", "test", dag_id], quiet=quiet)
    return proc.returncode
