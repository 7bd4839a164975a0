"""Start the mock department systems: in the foreground (CLI) or around a block (`citydata demo`)."""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager

DEFAULT_TOKEN_ENV = "CITYDATA_PARKING_API_TOKEN"


def run_mock_api(*, host: str, port: int, token: str | None, seed: int, faults: list[str], tick: float,
                 snapshot_seconds: float, rate_limit: float, sessions_per_hour: float) -> int:
    from citydata.asgi import bind, serve_forever
    from citydata.mock.parking_api import ParkingSystem, create_app, parse_fault_specs

    try:
        fault_cfg = parse_fault_specs(faults)
    except ValueError as exc:
        from citydata.errors import CitydataError

        raise CitydataError(f"--fault: {exc}") from None
    token = token or os.environ.get(DEFAULT_TOKEN_ENV) or secrets.token_urlsafe(16)
    system = ParkingSystem(seed, sessions_per_hour=sessions_per_hour, snapshot_seconds=snapshot_seconds)
    app = create_app(system, token=token, faults=fault_cfg, rate_limit=rate_limit, tick_seconds=tick)
    sock = bind(host, port)  # before printing: with --port 0 the printed port is the one chosen
    port = sock.getsockname()[1]
    print(f"parking API on http://{host}:{port}/api/v1 (sessions, occupancy, lots)", flush=True)
    print(f"export CITYDATA_PARKING_API_URL=http://{host}:{port}", flush=True)
    print(f"export CITYDATA_PARKING_API_TOKEN={token}", flush=True)
    if any(v for k, v in fault_cfg.as_dict().items() if k in ("error", "slow", "malformed", "ratelimit")):
        print(f"faults: {fault_cfg.as_dict()}", flush=True)
    serve_forever(app, sock)
    return 0


def run_mock_db(*, url: str | None, seed: int, interval: float, once: bool, backfill_hours: float,
                visits_per_hour: float) -> int:
    from citydata.mock.health_db import HealthDB

    db = HealthDB(url, seed, visits_per_hour=visits_per_hour)
    counts = db.setup(backfill_hours=backfill_hours)
    safe = db.engine.url.render_as_string(hide_password=True)
    print(f"health database {safe}: {counts['inserted']} visit(s) added", flush=True)
    print(f"export CITYDATA_HEALTH_DB_URL={db.engine.url.render_as_string(hide_password=False)}", flush=True)
    if once:
        db.dispose()
        return 0
    stop = threading.Event()
    try:
        while not stop.wait(interval):
            c = db.step()
            print(f"+{c['inserted']} visit(s), {c['corrected']} correction(s)", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        db.dispose()
    return 0


@contextmanager
def running_mocks(seed: int = 0, *, tick: float = 2.0, db_interval: float = 5.0) -> Iterator[dict[str, str]]:
    """The parking API (thread, free port) and the health DB writer (thread) for the duration of a block.

    Yields the environment the pulls need (CITYDATA_PARKING_API_URL/TOKEN, CITYDATA_HEALTH_DB_URL);
    both are stopped on exit, also when the block fails.
    """
    from citydata.asgi import serve_in_thread
    from citydata.mock.health_db import HealthDB
    from citydata.mock.parking_api import ParkingSystem, create_app

    token = secrets.token_urlsafe(16)
    server = serve_in_thread(create_app(ParkingSystem(seed, snapshot_seconds=60), token=token, tick_seconds=tick))
    db = HealthDB(seed=seed)
    stop = threading.Event()
    writer = None
    try:
        db.setup()
        writer = threading.Thread(target=db.run, args=(stop, db_interval), daemon=True, name="mock-health-db")
        writer.start()
        yield {"CITYDATA_PARKING_API_URL": server.url, "CITYDATA_PARKING_API_TOKEN": token,
               "CITYDATA_HEALTH_DB_URL": db.engine.url.render_as_string(hide_password=False)}
    finally:
        stop.set()
        if writer:
            writer.join(30)
        db.dispose()
        server.stop()


@contextmanager
def patched_environ(env: dict[str, str]) -> Iterator[None]:
    """Set variables for the block (child processes such as Airflow runs inherit them), then restore."""
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
