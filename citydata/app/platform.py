"""The Airflow components of the runbook (api-server, scheduler, dag-processor, triggerer) as child processes.

The same commands engineers start by hand (docs/runbook.md, "Running the Airflow components
natively"), with this project's environment; used by `citydata demo --live`. Each runs in its own
process group with its log under $CITYDATA_HOME/logs/platform/, and all are stopped when the
block ends, also when it fails.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from citydata.app.airflow_env import airflow_bin, airflow_environ, ensure_metadata_db
from citydata.config import settings
from citydata.errors import CitydataError

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")


@dataclass
class Platform:
    api_url: str
    logs: Path
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    def check_alive(self) -> None:
        """CitydataError naming the first component that exited, and its log."""
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise CitydataError(f"airflow {name} exited with {proc.returncode}; see {self.logs / (name + '.log')}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(procs: dict[str, subprocess.Popen], grace: float = 20.0) -> None:
    for proc in procs.values():
        _signal(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in procs.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for proc in procs.values():  # children (task supervisors, the dag-processor's parsers) go too
        _signal(proc.pid, signal.SIGKILL)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


def _signal(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


@contextmanager
def running_platform(extra_env: dict[str, str] | None = None, *, ready_timeout: float = 180.0) -> Iterator[Platform]:
    """Migrate the metadata DB, start the four components, wait until the api-server answers."""
    import httpx

    ensure_metadata_db()
    port = _free_port()
    env = airflow_environ()
    env.update(extra_env or {})
    env.update({
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(_free_port()),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_free_port()),
    })
    logs = settings().home / "logs" / "platform"
    logs.mkdir(parents=True, exist_ok=True)
    platform = Platform(api_url=f"http://127.0.0.1:{port}", logs=logs)
    af = airflow_bin()
    try:
        for name in COMPONENTS:
            args = [af, name] + (["--host", "127.0.0.1", "--port", str(port)] if name == "api-server" else [])
            with (logs / f"{name}.log").open("ab") as out:
                platform.procs[name] = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT,
                                                        stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + ready_timeout
        while True:
            platform.check_alive()
            try:
                if httpx.get(f"{platform.api_url}/api/v2/monitor/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise CitydataError(f"airflow api-server did not answer within {ready_timeout:.0f}s; see {logs}")
            time.sleep(1)
        yield platform
    finally:
        _stop(platform.procs)
