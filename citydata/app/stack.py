"""`citydata airflow up|status|down`: Airflow's components started in order, each waited for healthy.

Started together, the scheduler queued tasks before the api-server answered and the executor
failed them; so the api-server starts first and every later component waits until the one
before it reports healthy (through the api-server's /api/v2/monitor/health, which reads each
job's heartbeat from the metadata database). The processes are detached (own session), with
pid files and logs under ``$AIRFLOW_HOME/stack/``; ``down`` stops them in reverse order,
SIGTERM then SIGKILL after a grace period. No Airflow import: everything is a subprocess.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from citydata.app.airflow_env import airflow_bin, airflow_environ, ensure_metadata_db
from citydata.errors import CitydataError

# The order of `up`; `down` is the reverse. Workers only with the CeleryExecutor.
ORDER = ("api-server", "dag-processor", "scheduler", "triggerer", "celery-worker")
# Key of each job in /api/v2/monitor/health and of its heartbeat field.
HEALTH_KEYS = {"scheduler": "scheduler", "dag-processor": "dag_processor", "triggerer": "triggerer"}


@dataclass(frozen=True)
class StackConfig:
    host: str
    port: int
    state_dir: Path
    env: dict[str, str]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def pid_file(self, name: str) -> Path:
        return self.state_dir / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.state_dir / f"{name}.log"


def stack_config(host: str | None = None, port: int | None = None) -> StackConfig:
    """The stack's environment: the project's Airflow settings plus the api-server's address.

    Host and port given to `up` are remembered in ``stack.json`` so `status`/`down` find them.
    """
    env = airflow_environ()
    state = Path(env["AIRFLOW_HOME"]) / "stack"
    saved = json.loads((state / "stack.json").read_text()) if (state / "stack.json").exists() else {}
    host = host or saved.get("host") or env.get("AIRFLOW__API__HOST") or "127.0.0.1"
    port = int(port or saved.get("port") or env.get("AIRFLOW__API__PORT") or 8080)
    url = f"http://{host}:{port}"
    env.update({
        "AIRFLOW__API__HOST": host,
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": env.get("AIRFLOW__API__BASE_URL", url),
        # Task processes reach the api-server here (Airflow's default assumes localhost:8080).
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": env.get("AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
                                                           f"{url}/execution/"),
    })
    return StackConfig(host, port, state, env)


def components(cfg: StackConfig) -> list[tuple[str, list[str]]]:
    """What runs, in start order. Log servers are skipped: on one host the api-server reads the
    log files directly, and Airflow 3.3's log servers bind every interface (no host setting)."""
    af = airflow_bin()
    out = [
        ("api-server", [af, "api-server", "--host", cfg.host, "--port", str(cfg.port)]),
        ("dag-processor", [af, "dag-processor"]),
        ("scheduler", [af, "scheduler", "--skip-serve-logs"]),
        ("triggerer", [af, "triggerer", "--skip-serve-logs"]),
    ]
    if "celery" in cfg.env.get("AIRFLOW__CORE__EXECUTOR", "").lower():
        out.append(("celery-worker", [af, "celery", "worker", "--skip-serve-logs",
                                      "--concurrency", cfg.env["AIRFLOW__CORE__PARALLELISM"]]))
    return out


def read_pid(cfg: StackConfig, name: str) -> int | None:
    """The component's pid when its process is alive, else None."""
    try:
        pid = int(cfg.pid_file(name).read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    if _is_zombie(pid):
        return None
    return pid


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def fetch_health(cfg: StackConfig, timeout: float = 5.0) -> dict | None:
    """/api/v2/monitor/health of the api-server (no login needed), or None when it does not answer."""
    try:
        with urllib.request.urlopen(f"{cfg.url}/api/v2/monitor/health", timeout=timeout) as resp:
            return json.loads(resp.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _heartbeat(health: dict, name: str) -> dt.datetime | None:
    key = HEALTH_KEYS[name]
    entry = health.get(key) or {}
    beat = entry.get(f"latest_{key}_heartbeat")
    if entry.get("status") != "healthy" or not beat:
        return None
    return dt.datetime.fromisoformat(beat)


def component_health(cfg: StackConfig, name: str, health: dict | None, since: dt.datetime | None = None) -> str:
    """healthy / unhealthy / stopped for one component (`since`: only a heartbeat after it counts)."""
    if read_pid(cfg, name) is None:
        return "stopped"
    if health is None:
        return "unhealthy"
    if name == "api-server":
        return "healthy" if (health.get("metadatabase") or {}).get("status") == "healthy" else "unhealthy"
    if name not in HEALTH_KEYS:  # celery worker: alive and announced ready in its log
        return "healthy" if "ready." in _tail(cfg.log_file(name), 200) else "unhealthy"
    beat = _heartbeat(health, name)
    return "healthy" if beat is not None and (since is None or beat >= since) else "unhealthy"


def _tail(path: Path, lines: int) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _wait(what: str, probe: Callable[[], bool], timeout: float, cfg: StackConfig, name: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return
        if read_pid(cfg, name) is None:
            last = _tail(cfg.log_file(name), 1) or "no output"
            raise CitydataError(f"{name} exited while starting: {last[:300]} (log: {cfg.log_file(name)})")
        time.sleep(1.0)
    raise CitydataError(f"{what} not healthy after {timeout:.0f} s (log: {cfg.log_file(name)})")


def _start(cfg: StackConfig, name: str, args: list[str]) -> int:
    cfg.state_dir.mkdir(parents=True, exist_ok=True)
    with cfg.log_file(name).open("ab") as out:
        proc = subprocess.Popen(args, env=cfg.env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=cfg.state_dir)
    cfg.pid_file(name).write_text(f"{proc.pid}\n")
    return proc.pid


def up(host: str | None = None, port: int | None = None, timeout: float = 300.0,
       echo: Callable[[str], None] = print) -> StackConfig:
    """Start every component not yet running, in order, each waited for healthy."""
    cfg = stack_config(host, port)
    ensure_metadata_db()
    _ensure_warehouse(cfg)
    cfg.state_dir.mkdir(parents=True, exist_ok=True)
    (cfg.state_dir / "stack.json").write_text(json.dumps({"host": cfg.host, "port": cfg.port}))
    for name, args in components(cfg):
        if read_pid(cfg, name) is not None:
            echo(f"{name}: already running (pid {read_pid(cfg, name)})")
            continue
        since = dt.datetime.now(dt.UTC).replace(microsecond=0)
        pid = _start(cfg, name, args)
        _wait(name, lambda n=name, s=since: component_health(cfg, n, fetch_health(cfg), s) == "healthy",
              timeout, cfg, name)
        echo(f"{name}: healthy (pid {pid}, log {cfg.log_file(name)})")
    echo(f"Airflow UI (简体中文, 北京时间): {cfg.url}/citydata/ui-defaults  ·  数据汇聚指标: {cfg.url}/citydata/")
    return cfg


def _ensure_warehouse(cfg: StackConfig) -> None:
    """The warehouse's layers exist before the first DAG runs (as compose's init service does)."""
    from citydata.bootstrap import ensure_schema
    from citydata.registry import load_registry

    ensure_schema(load_registry())


def status(echo: Callable[[str], None] = print) -> bool:
    """Print each component's pid and health; True when all of them are healthy."""
    cfg = stack_config()
    health = None
    for _attempt in range(3):  # a busy api-server may miss one probe
        health = fetch_health(cfg, timeout=15.0)
        if health is not None or read_pid(cfg, "api-server") is None:
            break
    ok = True
    for name, _args in components(cfg):
        state = component_health(cfg, name, health)
        pid = read_pid(cfg, name)
        ok = ok and state == "healthy"
        echo(f"{name:<14} {state:<10} pid {pid or '-':<8} log {cfg.log_file(name)}")
    echo(f"api-server url {cfg.url}")
    return ok


def down(grace: float = 30.0, echo: Callable[[str], None] = print) -> None:
    """Stop the components in reverse order: SIGTERM to each process group, SIGKILL after ``grace``."""
    cfg = stack_config()
    for name in reversed(ORDER):
        pid = read_pid(cfg, name)
        if pid is None:
            cfg.pid_file(name).unlink(missing_ok=True)
            continue
        _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and _group_alive(pid):
            time.sleep(0.5)
        how = "stopped"
        if _group_alive(pid):
            _signal(pid, signal.SIGKILL)
            how = f"killed (still running {grace:.0f} s after SIGTERM)"
        cfg.pid_file(name).unlink(missing_ok=True)
        echo(f"{name}: {how}")


def _signal(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(pgid: int) -> bool:
    """True while any process of the group (the component and its children) is alive, zombies aside."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[-1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


@contextmanager
def running_stack(timeout: float = 900.0, echo: Callable[[str], None] = print) -> Iterator[StackConfig]:
    """`up` around a block (`citydata demo --live`), then `down` — unless the stack was already running
    before, in which case it is used as it is and left running."""
    cfg = stack_config()
    was_running = [name for name, _ in components(cfg) if read_pid(cfg, name) is not None]
    cfg = up(port=None if was_running else _free_port(), timeout=timeout, echo=echo)
    try:
        yield cfg
    finally:
        if not was_running:
            down(echo=echo)


def check_running(cfg: StackConfig) -> None:
    """CitydataError naming the first component that is no longer running, and its log."""
    for name, _args in components(cfg):
        if read_pid(cfg, name) is None:
            last = _tail(cfg.log_file(name), 1) or "no output"
            raise CitydataError(f"airflow {name} stopped: {last[:300]} (log: {cfg.log_file(name)})")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
