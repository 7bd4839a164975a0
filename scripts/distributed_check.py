#!/usr/bin/env python
"""Native distributed check: the processes docker-compose runs, started here as real processes.

PostgreSQL (fresh metadata, warehouse and health-department databases on the local server),
Redis (a dedicated, empty DB number), Airflow api-server, scheduler, dag-processor, triggerer,
two Celery workers with distinct hostnames, and the department mocks (`citydata mock-api`,
`citydata mock-db`). Files for every department are dropped into the landing zone in waves;
the check then proves through the Airflow REST API (JWT from the simple auth manager) and the
warehouse that:

- every file was loaded once, by an `ingest_<department>` run of type asset_triggered (the landing
  watcher) or, for a department with pulled resources, possibly by the run of its pull cron (every
  minute here) when that tick came first; every task instance ran on the Celery workers and succeeded
  or was skipped;
- every row landed exactly once (one audit row per file, nothing quarantined, core row counts =
  the distinct keys dropped);
- the pulled resources (parking API, health database) were loaded by the pull cron's runs (watcher
  runs skip pulls);
- `kpi_rates` (when the DAG exists) ran after the last file landed;

and prints drop-to-queryable latency (drop = rename into landing/, queryable = t_landed).
Every process is started in its own process group and killed on exit, success or not; the
pgids are also written to <workdir>/pgids so a caller can clean up after a hard kill.

    .venv/bin/python scripts/distributed_check.py [--waves 5] [--rows 200] [--timeout 540]

Exit code 0 when every check passed; the last line is `DISTRIBUTED_CHECK {json summary}`.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
import psycopg  # noqa: E402

from citydata.app.airflow_env import airflow_bin, airflow_environ  # noqa: E402

PG_ADMIN_URL = os.environ.get("CITYDATA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
WORKERS = ("citydata-worker-1", "citydata-worker-2")
NEVER = "0 0 29 2 *"  # cron fallback: 29 Feb (no slot since start_date): files are taken by watcher runs
PULL_EVERY_MINUTE = "* * * * *"  # pulls run on their cron (watcher runs skip them); those runs may take a file too
ADMIN_USER = "admin"


class CheckFailed(Exception):
    pass


def log(msg: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {msg}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def with_db(url: str, name: str) -> str:
    return f"{url.rpartition('/')[0]}/{name}"


def wait_for(what: str, probe: Callable[[], Any], timeout: float, interval: float = 1.0) -> Any:
    """Poll `probe` until it returns something truthy; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            result = probe()
            if result:
                return result
        except (httpx.HTTPError, psycopg.Error, OSError) as exc:
            last_error = exc
        time.sleep(interval)
    raise CheckFailed(f"timed out after {timeout:.0f}s waiting for {what}" + (f" (last error: {last_error})" if last_error else ""))


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


class Redis:
    """Just enough RESP to pick and flush a dedicated DB number (no extra client dependency)."""

    def __init__(self, db: int) -> None:
        self.db = db

    def command(self, *args: str) -> bytes:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=5) as s:
            payload = b""
            for cmd in (("SELECT", str(self.db)), args):
                payload += f"*{len(cmd)}\r\n".encode() + b"".join(f"${len(a)}\r\n{a}\r\n".encode() for a in cmd)
            s.sendall(payload)
            data = b""
            while data.count(b"\r\n") < 2:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            return data.split(b"\r\n")[1]

    def dbsize(self) -> int:
        return int(self.command("DBSIZE").lstrip(b":"))

    def flush(self) -> None:
        self.command("FLUSHDB")


class Cluster:
    """Databases, a Redis DB and Airflow processes, all torn down by `close()`."""

    def __init__(self, workdir: Path, redis_db: int | None) -> None:
        self.workdir = workdir
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.procs: dict[str, subprocess.Popen] = {}
        self.databases: list[str] = []
        self.redis = Redis(self._pick_redis_db(redis_db))
        self.redis_used = False

    @staticmethod
    def _pick_redis_db(wanted: int | None) -> int:
        for db in ([wanted] if wanted is not None else list(range(15, 7, -1))):
            if Redis(db).dbsize() == 0:
                return db
        raise CheckFailed(f"no empty Redis DB number at {REDIS_HOST}:{REDIS_PORT} (tried {wanted or '15..8'})")

    def create_database(self, prefix: str) -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(libpq(PG_ADMIN_URL), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        self.databases.append(name)
        return with_db(PG_ADMIN_URL, name)

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        out = (self.logs / f"{name}.log").open("ab")
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=self.workdir)
        out.close()
        self.procs[name] = proc
        with (self.workdir / "pgids").open("a") as fh:
            fh.write(f"{proc.pid}\n")
        log(f"started {name} (pid {proc.pid})")
        return proc

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise CheckFailed(f"{name} exited with {proc.returncode}; see {self.logs / (name + '.log')}")

    def close(self) -> None:
        for proc in self.procs.values():
            _signal_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for proc in self.procs.values():  # the leader may be gone while its children linger
            _signal_group(proc.pid, signal.SIGKILL)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                log(f"process {proc.pid} did not die")
        if self.redis_used:
            try:
                self.redis.flush()
            except OSError as exc:
                log(f"could not flush Redis DB {self.redis.db}: {exc}")
        try:
            from citydata.warehouse.db import dispose_engines

            dispose_engines()
        except Exception:  # noqa: BLE001 — cleanup goes on
            pass
        for name in self.databases:
            try:
                with psycopg.connect(libpq(PG_ADMIN_URL), autocommit=True) as conn:
                    conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            except psycopg.Error as exc:
                log(f"could not drop database {name}: {exc}")


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class Api:
    """Airflow REST API v2 with a JWT from the simple auth manager's POST /auth/token."""

    def __init__(self, base: str, password: str) -> None:
        self.base = base
        self.password = password
        self.client = httpx.Client(base_url=base, timeout=30)

    def login(self) -> None:
        r = self.client.post("/auth/token", json={"username": ADMIN_USER, "password": self.password})
        r.raise_for_status()
        self.client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"

    def get(self, path: str, **params: Any) -> dict:
        r = self.client.get(f"/api/v2{path}", params=params)
        if r.status_code == 401:  # token expired during a long wait
            self.login()
            r = self.client.get(f"/api/v2{path}", params=params)
        r.raise_for_status()
        return r.json()

    def patch(self, path: str, body: dict) -> dict:
        r = self.client.patch(f"/api/v2{path}", json=body)
        r.raise_for_status()
        return r.json()

    def dag_ids(self) -> set[str]:
        return {d["dag_id"] for d in self.get("/dags", limit=100)["dags"]}

    def runs(self, dag_id: str) -> list[dict]:
        return self.get(f"/dags/{dag_id}/dagRuns", limit=100, order_by="run_after")["dag_runs"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=1000)["task_instances"]


def build_env(cluster: Cluster, args: argparse.Namespace) -> tuple[dict[str, str], str, int]:
    home = cluster.workdir / "home"
    airflow_home = cluster.workdir / "airflow"
    airflow_home.mkdir(parents=True, exist_ok=True)
    meta_url = cluster.create_database("cd_dist_meta")
    warehouse_url = cluster.create_database("cd_dist_wh")
    port = free_port()
    password = secrets.token_urlsafe(12)
    passwords_file = airflow_home / "passwords.json"
    passwords_file.write_text(json.dumps({ADMIN_USER: password}))
    mock_db_url = cluster.create_database("cd_dist_health")
    api_token = secrets.token_urlsafe(12)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CITYDATA_"))}
    base.update({"CITYDATA_HOME": str(home), "AIRFLOW_HOME": str(airflow_home)})
    os.environ.update(CITYDATA_HOME=str(home), AIRFLOW_HOME=str(airflow_home))  # settings() in this process
    env = airflow_environ(base)
    broker = f"redis://{REDIS_HOST}:{REDIS_PORT}/{cluster.redis.db}"
    env.update({
        "CITYDATA_WAREHOUSE_URL": warehouse_url,
        "CITYDATA_WATCH_POLL_SECONDS": str(args.poll),
        "CITYDATA_INGEST_FALLBACK_CRON": NEVER,
        "CITYDATA_PULL_CRON": PULL_EVERY_MINUTE,
        "CITYDATA_PARKING_API_URL": f"http://127.0.0.1:{free_port()}",
        "CITYDATA_PARKING_API_TOKEN": api_token,
        "CITYDATA_HEALTH_DB_URL": mock_db_url,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": meta_url,
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor" if args.executor == "celery" else "LocalExecutor",
        "AIRFLOW__CELERY__BROKER_URL": broker,
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + meta_url,
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "2",
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file),
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        "AIRFLOW__CORE__FERNET_KEY": "",
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",  # parsed once: spare the 2 cores
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
    })
    return env, password, port


def start_airflow(cluster: Cluster, env: dict[str, str], port: int) -> None:
    af = airflow_bin()
    log("airflow db migrate (PostgreSQL metadata)")
    proc = subprocess.run([af, "db", "migrate"], env=env, capture_output=True, text=True, timeout=240, check=False)
    if proc.returncode != 0:
        raise CheckFailed(f"airflow db migrate failed: {(proc.stderr or proc.stdout).strip().splitlines()[-1:]}")
    # What the compose init service does for the warehouse: schemas, tables, roles, once.
    init = ("from citydata.registry import load_registry; from citydata.bootstrap import ensure_schema; "
            "ensure_schema(load_registry())")
    proc = subprocess.run([sys.executable, "-c", init], env=env, capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0:
        raise CheckFailed(f"warehouse init failed: {(proc.stderr or proc.stdout).strip().splitlines()[-1:]}")
    start_mocks(cluster, env)
    cluster.redis_used = True
    cluster.start("api-server", [af, "api-server", "--port", str(port), "--host", "127.0.0.1"], env)
    cluster.start("scheduler", [af, "scheduler"], env)
    cluster.start("dag-processor", [af, "dag-processor"], env)
    cluster.start("triggerer", [af, "triggerer"], env)
    for i, name in enumerate(WORKERS if env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor" else (), 1):
        wenv = dict(env, CITYDATA_HOSTNAME=name,
                    AIRFLOW__CORE__HOSTNAME_CALLABLE="citydata_airflow.hostname.worker_hostname",
                    AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port()))
        cluster.start(f"worker-{i}", [af, "celery", "worker", "--concurrency", "2", "--celery-hostname",
                                      f"{name}@%h", "--pid", str(cluster.workdir / f"worker-{i}.pid")], wenv)


def start_mocks(cluster: Cluster, env: dict[str, str]) -> None:
    """The parking department's HTTP API and the health department's database, as compose runs them."""
    citydata = str(Path(sys.executable).with_name("citydata"))
    api_port = env["CITYDATA_PARKING_API_URL"].rsplit(":", 1)[1]
    cluster.start("mock-api", [citydata, "mock-api", "--host", "127.0.0.1", "--port", api_port,
                               "--token", env["CITYDATA_PARKING_API_TOKEN"], "--seed", "8"], env)
    cluster.start("mock-db", [citydata, "mock-db", "--url", env["CITYDATA_HEALTH_DB_URL"], "--seed", "8",
                              "--backfill-hours", "2", "--interval", "5"], env)

    def api_up() -> bool:
        cluster.check_alive()
        return httpx.get(env["CITYDATA_PARKING_API_URL"] + "/api/v1/health", timeout=5).status_code == 200

    def db_up() -> bool:
        cluster.check_alive()
        with psycopg.connect(libpq(env["CITYDATA_HEALTH_DB_URL"])) as conn:
            return conn.execute("SELECT to_regclass('card_visits') IS NOT NULL").fetchone()[0]

    wait_for("mock parking API", api_up, 90)
    wait_for("mock health database", db_up, 90)


def _registry():  # noqa: ANN202
    from citydata.registry import load_registry

    return load_registry()


def file_resources() -> dict[str, list[str]]:
    reg = _registry()
    return {d: [r for r, res in dept.resources.items() if res.arrival == "files"] for d, dept in reg.departments.items()}


def drop_files(cluster: Cluster, env: dict[str, str], args: argparse.Namespace
               ) -> tuple[dict[str, tuple[float, int, float]], dict[tuple[str, str], set[tuple]]]:
    """Deliver waves of files (one per department per wave) the way departments do: write, then rename."""
    from citydata.mock.generate import generate
    from citydata.registry import load_registry

    reg = load_registry()
    landing = Path(env["CITYDATA_HOME"]) / "landing"
    staging = cluster.workdir / "staging"
    per_dept = {d: rs for d, rs in file_resources().items() if rs}
    dropped: dict[str, tuple[float, int, float]] = {}  # relative path → (drop time, rows, write time)
    keys: dict[tuple[str, str], set[tuple]] = {}  # (department, resource) → distinct primary keys dropped
    for wave in range(args.waves):
        for k, (dept, resources) in enumerate(sorted(per_dept.items())):
            resource = resources[wave % len(resources)]
            seed = 1000 + wave * 10 + k  # distinct keys per file: every row is new
            [src] = generate(reg, dept, resources=[resource], rows=args.rows, seed=seed, out=staging)
            keys.setdefault((dept, resource), set()).update(primary_keys(src, reg.resource(dept, resource)))
            target = landing / dept / resource / src.name
            target.parent.mkdir(parents=True, exist_ok=True)
            written = src.stat().st_mtime
            os.rename(src, target)
            dropped[f"{dept}/{resource}/{src.name}"] = (time.time(), args.rows, written)
        log(f"wave {wave + 1}/{args.waves}: dropped {len(per_dept)} files")
        cluster.check_alive()
        if wave + 1 < args.waves:
            time.sleep(args.wave_interval)  # pacing between deliveries, not a wait for a result
    return dropped, keys


def primary_keys(path: Path, resource: Any) -> set[tuple]:
    """The primary keys in a generated file (registry-like resources repeat keys across deliveries)."""
    import csv

    text = path.read_text(encoding="utf-8")
    if path.suffix == ".csv":
        rows = list(csv.DictReader(text.splitlines()))
    elif path.suffix == ".jsonl":
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    else:
        rows = json.loads(text)
    return {tuple(str(r[k]) for k in resource.primary_key) for r in rows}


def audit_rows(warehouse_url: str, sources: list[str]) -> list[dict]:
    with psycopg.connect(libpq(warehouse_url)) as conn, conn.cursor() as cur:
        cur.execute("SELECT source, department, resource, status, rows_read, rows_loaded, rows_quarantined, "
                    "rows_duplicate, started_at, t_landed, run_id FROM audit.ingest_log WHERE source = ANY(%s)",
                    (sources,))
        cols = [c.name for c in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def pull_audits(warehouse_url: str, since: float) -> list[dict]:
    with psycopg.connect(libpq(warehouse_url)) as conn, conn.cursor() as cur:
        cur.execute("SELECT department, resource, status, rows_read, rows_loaded FROM audit.ingest_log "
                    "WHERE source_kind <> 'file' AND started_at >= to_timestamp(%s)", (since,))
        cols = [c.name for c in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def pulled_resources() -> list[str]:
    from citydata.registry import load_registry

    reg = load_registry()
    return sorted(f"{d}.{r}" for d, dept in reg.departments.items() for r, res in dept.resources.items()
                  if res.arrival != "files")


def core_count(warehouse_url: str, department: str, resource: str) -> int:
    with psycopg.connect(libpq(warehouse_url)) as conn:
        return conn.execute(f'SELECT count(*) FROM core."{department}__{resource}"').fetchone()[0]


# Stages of drop-to-queryable, in order: each is the time from the previous mark to this one.
STAGES = [
    ("dropped", "department write → rename into landing/"),
    ("event", "→ watcher event (stable + poll)"),
    ("run_created", "→ DAG run created (scheduler)"),
    ("ingest_queued", "→ ingest_files queued (scheduler)"),
    ("ingest_started", "→ ingest_files started (executor)"),
    ("batch_open", "→ batch opened (imports, claim, checksum)"),
    ("committed", "→ committed: queryable (read, check, load)"),
    ("published", "→ task done (published, archived)"),
    ("indicators", "→ kpi_rates run done (indicators)"),
]


def stage_times(audits: list[dict], dropped: dict[str, tuple[float, int, float]],
                loaded_by: dict[str, list[tuple[str, dict]]], runs: dict[str, dict], tis: dict[str, list[dict]],
                events: dict[str, list[dict]], kpi_runs: list[dict]) -> dict[str, dict[str, float]]:
    """Per file, the epoch second of each mark in STAGES (plus "written"); marks not seen are left out.

    Sources: the drop itself (write = the file's mtime), the watcher's asset event (its payload
    names the file), Airflow's DagRun and task instances (REST API), the warehouse audit
    (batch opened = started_at, committed = t_landed) and the first kpi_rates run after the commit.
    """
    announced: dict[str, float] = {}  # a file may be loaded by a run another file's event started
    for evs in events.values():
        for e in evs:
            path = ((e.get("extra") or {}).get("payload") or {}).get("path")
            if path:
                t = _ts(e["timestamp"]).timestamp()
                announced[path] = min(t, announced.get(path, t))
    out: dict[str, dict[str, float]] = {}
    for a in audits:
        src = a["source"]
        t_drop, _, written = dropped[src]
        marks = {"written": written, "dropped": t_drop}
        if a.get("started_at") is not None:
            marks["batch_open"] = a["started_at"].timestamp()
        if a.get("t_landed") is not None:
            marks["committed"] = a["t_landed"].timestamp()
        for _, ti in loaded_by.get(src, [])[:1]:
            run_id = ti["dag_run_id"]
            run = runs.get(run_id, {})
            if src in announced:
                marks["event"] = announced[src]
            if run.get("queued_at"):
                marks["run_created"] = _ts(run["queued_at"]).timestamp()
            for key, field, t in (("ingest_queued", "queued_when", [ti]), ("ingest_started", "start_date", [ti]),
                                  ("published", "end_date", [ti])):
                if t and t[0].get(field):
                    marks[key] = _ts(t[0][field]).timestamp()
        if "committed" in marks:
            after = sorted(_ts(r["end_date"]).timestamp() for r in kpi_runs
                           if r.get("start_date") and r.get("end_date") and _ts(r["start_date"]).timestamp() >= marks["committed"])
            if after:
                marks["indicators"] = after[0]
        out[src] = marks
    return out


def stage_durations(per_file: dict[str, dict[str, float]]) -> dict[str, list[float]]:
    """Seconds spent in each stage (from the previous mark seen), over the files that have both marks."""
    order = ["written"] + [k for k, _ in STAGES]
    out: dict[str, list[float]] = {k: [] for k, _ in STAGES}
    for marks in per_file.values():
        prev = "written"
        for key in order[1:]:
            if key in marks and prev in marks:
                out[key].append(marks[key] - marks[prev])
            if key in marks:
                prev = key
    return out


def stage_medians(per_file: dict[str, dict[str, float]]) -> dict[str, float | None]:
    return {k: (round(statistics.median(v), 2) if v else None) for k, v in stage_durations(per_file).items()}


def render_stages(medians: dict[str, float | None], counts: dict[str, int]) -> str:
    lines = ["stage (median seconds over the files; each from the previous mark)"]
    for key, label in STAGES:
        value = medians.get(key)
        lines.append(f"  {label:<46} {'—' if value is None else f'{value:7.2f} s'}   ({counts.get(key, 0)} files)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--waves", type=int, default=5, help="waves of one file per department (default 5 → 20 files)")
    p.add_argument("--rows", type=int, default=200)
    p.add_argument("--wave-interval", type=float, default=5.0, help="seconds between waves")
    p.add_argument("--poll", type=float, default=1.0, help="watcher poll interval (CITYDATA_WATCH_POLL_SECONDS)")
    p.add_argument("--timeout", type=float, default=540.0, help="overall budget for the waits, in seconds")
    p.add_argument("--executor", choices=["celery", "local"], default="celery",
                   help="celery: two workers as in compose (default); local: the LocalExecutor of the runbook")
    p.add_argument("--redis-db", type=int, help="Redis DB number (must be empty; default: an empty one of 15..8)")
    p.add_argument("--workdir", type=Path, help="where logs and state go (default: a temp dir, removed on success)")
    args = p.parse_args(argv)

    started = time.monotonic()
    t_started = time.time()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="citydata-dist-"))
    workdir.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _interrupted)
    cluster = Cluster(workdir, args.redis_db)
    summary: dict[str, Any] = {"workdir": str(workdir), "redis_db": cluster.redis.db}
    failures: list[str] = []
    try:
        env, password, port = build_env(cluster, args)
        os.environ.update({k: v for k, v in env.items() if k.startswith("CITYDATA_")})  # generate() in this process
        start_airflow(cluster, env, port)
        remaining = lambda: args.timeout - (time.monotonic() - started)  # noqa: E731
        api = Api(f"http://127.0.0.1:{port}", password)
        wait_for("api-server health", lambda: api.client.get("/api/v2/monitor/health").status_code == 200,
                 min(120, remaining()))
        api.login()
        depts = sorted(file_resources())
        wanted = {f"ingest_{d}" for d in depts}

        def dags_ready() -> set[str] | None:
            cluster.check_alive()
            ids = api.dag_ids()
            return ids if wanted <= ids else None

        dag_ids = wait_for(f"DAGs {sorted(wanted)} in the API", dags_ready, min(120, remaining()), 2)
        has_kpi = "kpi_rates" in dag_ids
        watched = sorted(wanted) + (["kpi_rates"] if has_kpi else [])
        for dag_id in watched:
            api.patch(f"/dags/{dag_id}", {"is_paused": False})
        log(f"DAGs parsed: {', '.join(sorted(dag_ids))}; kpi_rates {'present' if has_kpi else 'ABSENT'}")

        # With the 29-Feb cron no time-based run exists; should a DAG of someone else's design start
        # one anyway, let it finish so every file below can only be picked up by a watcher-triggered run.
        def quiet() -> bool:
            cluster.check_alive()
            return all(r["state"] in ("success", "failed") for d in sorted(wanted) for r in api.runs(d))

        wait_for("ingest runs started before the drop to finish", quiet, min(150, remaining()), 2)
        before = {d: {r["dag_run_id"] for r in api.runs(d)} for d in watched}

        t_drop0 = time.time()
        dropped, dropped_keys = drop_files(cluster, env, args)
        sources = sorted(dropped)
        warehouse_url = env["CITYDATA_WAREHOUSE_URL"]

        def all_landed() -> list[dict] | None:
            cluster.check_alive()
            rows = audit_rows(warehouse_url, sources)
            done = {r["source"] for r in rows if r["t_landed"] is not None}
            if len(done) != progress[-1]:
                progress.append(len(done))
                log(f"{len(done)}/{len(sources)} files queryable")
            return rows if done >= set(sources) else None

        progress = [0]

        try:
            audits = wait_for(f"{len(sources)} files to land in the warehouse", all_landed, max(10, remaining() - 40))
        except CheckFailed:  # the stages of the files that did land are still measured below
            audits = [r for r in audit_rows(warehouse_url, sources) if r["t_landed"] is not None]
            failures.append(f"not landed: {sorted(set(sources) - {r['source'] for r in audits})}")
            if not audits:
                raise CheckFailed("no file landed") from None
        t_last_landed = max(r["t_landed"] for r in audits)

        def runs_settled() -> dict[str, list[dict]] | None:
            new = {d: [r for r in api.runs(d) if r["dag_run_id"] not in before[d]] for d in watched}
            busy = [r for rs in new.values() for r in rs if r["state"] not in ("success", "failed")]
            kpi_after = not has_kpi or any(
                r["state"] == "success" and r.get("start_date") and _ts(r["start_date"]) >= t_last_landed
                for r in new["kpi_rates"])
            return new if not busy and kpi_after else None

        try:
            new_runs = wait_for("ingest runs to finish" + (" and kpi_rates to run after them" if has_kpi else ""),
                                runs_settled, max(10, remaining() - 25), 2)
        except CheckFailed as exc:
            failures.append(str(exc))
            new_runs = {d: [r for r in api.runs(d) if r["dag_run_id"] not in before[d]] for d in watched}

        # 1. rows landed exactly once
        by_source: dict[str, list[dict]] = {}
        for r in audits:
            by_source.setdefault(r["source"], []).append(r)
        for src in sources:
            rows = by_source.get(src, [])
            if len(rows) != 1:
                failures.append(f"{src}: {len(rows)} audit rows, expected exactly 1")
                continue
            a = rows[0]
            n = dropped[src][1]
            if (a["status"], a["rows_read"], a["rows_quarantined"]) != ("loaded", n, 0):
                failures.append(f"{src}: status {a['status']}, read {a['rows_read']}, quarantined "
                                f"{a['rows_quarantined']}; expected loaded, {n} read, none quarantined")
        counts = {f"{d}.{r}": core_count(warehouse_url, d, r) for d, r in dropped_keys}
        for (d, r), pks in dropped_keys.items():
            if counts[f"{d}.{r}"] != len(pks):
                failures.append(f"core {d}__{r}: {counts[f'{d}.{r}']} rows, expected {len(pks)} "
                                "(the distinct keys dropped, each once)")

        # 2. runs: asset-triggered by the watcher, succeeded, on the Celery workers
        ingest_ti: dict[str, tuple[str, dict]] = {}  # run id → (run type, its ingest_files task instance)
        tis_by_run: dict[str, list[dict]] = {}
        events_by_run: dict[str, list[dict]] = {}
        hosts: dict[str, int] = {}
        retries: dict[str, int] = {}
        run_types: dict[str, int] = {}
        for dag_id in sorted(wanted):
            runs = new_runs.get(dag_id, [])
            if not any(r["run_type"] == "asset_triggered" for r in runs):
                failures.append(f"{dag_id}: no asset_triggered run after the drop")
            for run in runs:
                run_types[run["run_type"]] = run_types.get(run["run_type"], 0) + 1
                if run["state"] != "success":
                    failures.append(f"{dag_id} run {run['dag_run_id']} ({run['run_type']}) ended {run['state']}")
                if run["run_type"] == "asset_triggered":
                    events = api.get(f"/dags/{dag_id}/dagRuns/{run['dag_run_id']}/upstreamAssetEvents")["asset_events"]
                    events_by_run[run["dag_run_id"]] = events
                    if not any(e.get("name") == f"landing.{dag_id.removeprefix('ingest_')}" for e in events):
                        failures.append(f"{dag_id} run {run['dag_run_id']}: not triggered by the landing watcher "
                                        f"(events: {[e.get('name') for e in events]})")
                for ti in api.task_instances(dag_id, run["dag_run_id"]):
                    label = f"{dag_id}.{ti['task_id']}[{ti['map_index']}] in {run['dag_run_id']}"
                    if ti["state"] == "skipped" and not ti.get("hostname"):
                        continue  # never ran: nothing left to map (an earlier run took the files) or no source
                    hosts[ti.get("hostname") or "?"] = hosts.get(ti.get("hostname") or "?", 0) + 1
                    if args.executor == "celery" and ti.get("hostname") not in WORKERS:
                        failures.append(f"{label} ran on {ti.get('hostname')!r}, not on a Celery worker")
                    if args.executor == "celery" and ti.get("queue") != "default":  # both workers consume it
                        failures.append(f"{label} went to queue {ti.get('queue')!r}, not the workers' 'default'")
                    if ti["state"] not in ("success", "skipped"):
                        failures.append(f"{label} ended {ti['state']}")
                    if (ti.get("try_number") or 1) > 1:
                        retries[ti["task_id"]] = retries.get(ti["task_id"], 0) + 1
                    if ti["task_id"] == "ingest_files" and ti["state"] == "success":
                        ingest_ti[run["dag_run_id"]] = (run["run_type"], ti)
                    tis_by_run.setdefault(run["dag_run_id"], []).append(ti)
        # Each file by one run (its audit row names it): a watcher run, or for a department with pulls
        # the minute's pull run when its cron tick came first (the fallback path, which takes files too).
        loaded_by: dict[str, list[tuple[str, dict]]] = {}
        pulling = {d for d, dept in _registry().departments.items() if any(r.arrival != "files" for r in dept.resources.values())}
        for a in audits:
            if a.get("run_id") in ingest_ti:
                loaded_by.setdefault(a["source"], []).append(ingest_ti[a["run_id"]])
        for src in sources:
            runs_for = [rt for rt, _ in loaded_by.get(src, [])]
            allowed = {"asset_triggered", "scheduled"} if src.split("/")[0] in pulling else {"asset_triggered"}
            if len(runs_for) != 1 or runs_for[0] not in allowed:
                failures.append(f"{src}: ingested by runs {runs_for or 'none'}, expected one of {sorted(allowed)}")
        summary["files_by_run_type"] = {t: sum(1 for v in loaded_by.values() for rt, _ in v if rt == t)
                                        for t in ("asset_triggered", "scheduled")}

        # 3. kpi_rates after the loads
        if has_kpi and not any(r["state"] == "success" and r.get("start_date") and _ts(r["start_date"]) >= t_last_landed
                               for r in new_runs.get("kpi_rates", [])):
            failures.append("kpi_rates did not run (successfully) after the last file landed")

        # 4. pulled resources (mock API / DB): loaded by the pull cron's runs, accounting invariant kept
        def pulled_all() -> set[str] | None:
            got = {f"{p['department']}.{p['resource']}" for p in pull_audits(warehouse_url, t_started)
                   if p["status"] in ("loaded", "partial")}
            return got if set(pulled_resources()) <= got else None

        try:
            wait_for("a successful pull of every pulled resource", pulled_all, max(10, remaining() - 20), 2)
        except CheckFailed:
            pass  # named below
        pulls = pull_audits(warehouse_url, t_started)
        pulled = {f"{p['department']}.{p['resource']}" for p in pulls if p["status"] in ("loaded", "partial")}
        for key in pulled_resources():
            if key not in pulled:
                failures.append(f"{key}: no successful pull while the cluster ran")
        summary["pulls"] = {k: sum(p["rows_loaded"] for p in pulls if f"{p['department']}.{p['resource']}" == k)
                            for k in sorted(pulled)}

        # 5. latency
        latencies = sorted(a["t_landed"].timestamp() - dropped[a["source"]][0] for a in audits)
        summary.update({
            "files": len(sources), "rows_per_file": args.rows, "workers": list(WORKERS),
            "task_instances_per_host": hosts, "runs_by_type": run_types, "kpi_rates": has_kpi,
            "task_retries": retries,
            "core_rows": counts,
            "latency_s": {"p50": round(statistics.median(latencies), 2), "p95": round(percentile(latencies, 95), 2),
                          "min": round(latencies[0], 2), "max": round(latencies[-1], 2)},
            "drop_to_last_landed_s": round(t_last_landed.timestamp() - t_drop0, 1),
            "latencies_s": [round(x, 2) for x in latencies], "executor": args.executor,
            "load_average": [round(x, 1) for x in os.getloadavg()],
        })
        log(f"drop-to-queryable latency over {len(latencies)} files: p50 {summary['latency_s']['p50']} s, "
            f"p95 {summary['latency_s']['p95']} s (min {summary['latency_s']['min']}, max {summary['latency_s']['max']})")
        log(f"task instances per host: {hosts}; runs by type: {run_types}")
        runs_by_id = {r["dag_run_id"]: r for rs in new_runs.values() for r in rs}
        try:  # every watcher event, also those a run consumed without being the one that loaded the file
            events_by_run["*"] = api.get("/assets/events", limit=1000, order_by="-timestamp")["asset_events"]
        except httpx.HTTPError as exc:
            log(f"asset events not listed ({exc}); the watcher stage covers the runs' own events only")
        kpi_runs = [r for r in new_runs.get("kpi_rates", []) if r["state"] == "success"]
        per_file = stage_times(audits, dropped, loaded_by, runs_by_id, tis_by_run, events_by_run, kpi_runs)
        summary["stages_median_s"] = stage_medians(per_file)
        summary["stage_files"] = {k: len(v) for k, v in stage_durations(per_file).items()}
        print(render_stages(summary["stages_median_s"], summary["stage_files"]), flush=True)
    except CheckFailed as exc:
        failures.append(str(exc))
    except KeyboardInterrupt:
        failures.append("interrupted")
    finally:
        log("stopping every process")
        cluster.close()
    summary["seconds"] = round(time.monotonic() - started, 1)
    summary["failures"] = failures
    for f in failures:
        log(f"FAIL {f}")
    if failures:
        log(f"logs kept in {cluster.logs}")
        _tail_logs(cluster)
    elif args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    print("DISTRIBUTED_CHECK " + json.dumps(summary, default=str), flush=True)
    return 1 if failures else 0


def _interrupted(*_: object) -> None:
    raise KeyboardInterrupt  # SIGTERM from a caller's timeout: run the cleanup in `finally`


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _tail_logs(cluster: Cluster, lines: int = 15) -> None:
    for path in sorted(cluster.logs.glob("*.log")):
        tail = path.read_text(errors="replace").splitlines()[-lines:]
        print(f"--- {path.name} (last {len(tail)} lines)", *tail, sep="\n", flush=True)


if __name__ == "__main__":
    sys.exit(main())
