"""Run Airflow with the project's settings, as a subprocess (the core library never imports Airflow)."""

from __future__ import annotations

import json
import os
import secrets
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
        # Beijing time for naive datetimes; the UI's own zone and language are per browser
        # (docs/runbook.md: "Chinese and Beijing time in the Airflow UI").
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Shanghai",
        # Sized to the machine: the default of 32 task processes starved 2 cores.
        "AIRFLOW__CORE__PARALLELISM": str(executor_slots()),
        # A task's calls to the execution API waited 5 s by default: ReadTimeouts under load.
        "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "30",
        # SimpleAuthManager's "looks like production" banner on every process using PostgreSQL.
        "AIRFLOW__LOGGING__NAMESPACE_LEVELS": QUIET_LOGGERS,
        # OpenLineage (docs/lineage.md): events of every DAG and task, appended to one JSON-lines file
        # by default; compose points the transport at Marquez instead.
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "citydata",
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": str(lineage_file(cfg.home)), "append": True}),
    }
    for key, value in defaults.items():
        env.setdefault(key, value)
    if "AIRFLOW__API_AUTH__JWT_SECRET" not in env or "AIRFLOW__API__SECRET_KEY" not in env:
        keys = local_secrets(Path(env["AIRFLOW_HOME"]))
        env.setdefault("AIRFLOW__API_AUTH__JWT_SECRET", keys["jwt_secret"])
        env.setdefault("AIRFLOW__API__SECRET_KEY", keys["secret_key"])
    if env["AIRFLOW__OPENLINEAGE__TRANSPORT"] == defaults["AIRFLOW__OPENLINEAGE__TRANSPORT"]:
        lineage_file(cfg.home).parent.mkdir(parents=True, exist_ok=True)  # the file transport does not create it
    return env


# Loggers whose lines are noise to an engineer: SimpleAuthManager's "looks like production" banner
# (every process on PostgreSQL), and the task SDK's retry notices ("Starting call to … 4th time
# calling it"): a call that finally fails is logged as an error by the task itself.
QUIET_LOGGERS = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager=error airflow.sdk.api.client=error"


def executor_slots() -> int:
    """Task processes at once: two per core (tasks wait on databases and HTTP as much as they compute)."""
    return max(2, 2 * (os.cpu_count() or 1))


def local_secrets(airflow_home: Path) -> dict[str, str]:
    """The JWT secret and API secret key of this Airflow home, generated once (0600).

    Airflow's own generated JWT secret is 16 bytes (InsecureKeyLengthWarning); HS512 wants ≥ 64.
    Every component must share them, so they live in a file, not in each process.
    """
    path = airflow_home / "citydata-secrets.json"
    try:
        keys = json.loads(path.read_text())
        if len(keys.get("jwt_secret", "")) >= 86 and keys.get("secret_key"):
            return keys
    except (OSError, ValueError):
        pass
    airflow_home.mkdir(parents=True, exist_ok=True)
    keys = {"jwt_secret": secrets.token_urlsafe(64), "secret_key": secrets.token_urlsafe(32)}
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(keys, fh)
    os.replace(tmp, path)
    return json.loads(path.read_text())


def lineage_file(home: Path) -> Path:
    """Where the default (file) transport appends the OpenLineage events, one JSON object a line."""
    return home / "lineage" / "events.jsonl"


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
