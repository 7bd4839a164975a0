"""`citydata demo --live MINUTES`: the platform running, mock departments delivering in real time.

The Airflow components start as engineers start them (`citydata airflow up`, citydata.app.stack); the landing
watcher, the pull cron and kpi_rates do the rest, exactly as in production. Mock departments
deliver on their cadence (citydata.mock.live); parking and health change continuously in their
API and database and are pulled every minute. At the end the indicators of the live window are
computed by the same code as kpi_rates (citydata.kpi.compute) over what actually landed, and
printed; the warehouse and Airflow's state stay for the dashboard and `citydata kpi`.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from collections.abc import Callable
from typing import TypeVar

from citydata.app.audit import audit_rows
from citydata.app.stack import check_running, running_stack
from citydata.config import settings
from citydata.errors import CitydataError
from citydata.kpi.compute import compute_period
from citydata.kpi.periods import Period, shanghai_iso
from citydata.kpi.present import kpi_table
from citydata.kpi.read import build_rows, stored
from citydata.kpi.tiers import label
from citydata.mock import live
from citydata.mock.run import patched_environ, running_mocks
from citydata.registry import load_registry
from citydata.render.table import render_table

T = TypeVar("T")
# The live platform's cadences: a watcher listing every second, pulls every minute; at most 4 tasks at once.
LIVE_ENV = {"CITYDATA_WATCH_POLL_SECONDS": "1", "CITYDATA_PULL_CRON": "* * * * *",
            "AIRFLOW__CORE__PARALLELISM": os.environ.get("AIRFLOW__CORE__PARALLELISM", "4")}  # 2 cores: 4 tasks at a time


def _say(msg: str) -> None:
    print(f"[live {dt.datetime.now(dt.UTC).astimezone(live.generators.LOCAL):%H:%M:%S}] {msg}", flush=True)


def _wait_until(when: dt.datetime, check: object) -> None:
    while (left := (when - dt.datetime.now(dt.UTC)).total_seconds()) > 0:
        check()  # type: ignore[operator]
        time.sleep(min(left, 2.0))


def _processed(sources: set[str]) -> set[str] | None:
    """The delivered files the audit has seen; None while the embedded warehouse is busy (locked)."""
    try:
        return {a["source"] for a in audit_rows() if a["source"] in sources}
    except CitydataError as exc:
        if "locked" not in str(exc):
            raise
        return None


def window_indicators(start: dt.datetime, end: dt.datetime) -> tuple[list[dict], list[dict]]:
    """(kpi rows, resource rows) for records whose event time is in [start, end), as of now."""
    period = Period("window", f"live {shanghai_iso(start)[:16]}", start, end)
    registry = load_registry()
    compute_period(period, registry)
    data = stored(period)
    return build_rows(period, data, registry), data["resources"]


def _retry_locked(fn: Callable[[], T], attempts: int = 10) -> T:
    """fn(), again after a pause while the embedded (SQLite) warehouse is locked by a finishing task."""
    for i in range(attempts):
        try:
            return fn()
        except CitydataError as exc:
            if "locked" not in str(exc) or i == attempts - 1:
                raise
            time.sleep(5)
    raise AssertionError("unreachable")


def resource_table(resources: list[dict]) -> str:
    cols = ["department", "resource", "records", "p95 collect s", "tier 采集时效", "in scope"]
    body = [[r["department"], r["resource"], r["records"],
             "—" if r["p95_collect_s"] is None else f"{float(r['p95_collect_s']):.0f}",
             f"{label(r['collect_tier'])} {label(r['collect_tier'], 'en')}", "yes" if r["in_scope"] else "no"]
            for r in resources]
    return render_table(cols, body)


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds the blocks below: the stack it started is stopped, not orphaned


def run_live(minutes: float, *, seed: int = 2022, fleet: int = 200, every_seconds: float = 120.0,
             settle_timeout: float = 1200.0) -> int:
    """Run the platform for ``minutes`` of deliveries, then wait for them to land and print the window's indicators."""
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        return _run_live(minutes, seed=seed, fleet=fleet, every_seconds=every_seconds, settle_timeout=settle_timeout)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run_live(minutes: float, *, seed: int, fleet: int, every_seconds: float, settle_timeout: float) -> int:
    cfg = settings()
    registry = load_registry()
    _say(f"starting the platform (api-server, scheduler, dag-processor, triggerer) under {cfg.home}")
    with running_mocks(seed) as mock_env, patched_environ({**mock_env, **LIVE_ENV}), running_stack(echo=_say) as stack:
        _say(f"Airflow UI {stack.url}/ (dashboard: {stack.url}/citydata/); logs {stack.state_dir}")
        start = dt.datetime.now(dt.UTC).replace(microsecond=0)  # readings are stamped to the second
        end = start + dt.timedelta(minutes=minutes)
        deliveries = live.plan(start, end, every_seconds, registry)
        sources: set[str] = set()
        for d in deliveries:
            _wait_until(d.at, lambda: check_running(stack))
            path = live.write(d, registry, cfg.landing_dir, fleet=fleet, seed=seed)
            if path is not None:
                sources.add(str(path.relative_to(cfg.landing_dir)))
                _say(f"{d.department}.{d.resource} ({d.kind}): {path.name}")
        _say(f"deliveries done ({len(sources)} files); waiting for them to land")
        deadline = time.monotonic() + settle_timeout
        done: set[str] = set()
        while done != sources and time.monotonic() < deadline:
            check_running(stack)
            time.sleep(3)
            done = _processed(sources) or done
        missing = sorted(sources - done)
        if missing:
            _say(f"{len(missing)} file(s) not processed within {settle_timeout:.0f}s: {', '.join(missing[:5])}")
        time.sleep(65)  # one more pull of parking and health after the last files
    rows, resources = _retry_locked(lambda: window_indicators(start, end))
    print(f"\n==> live window {shanghai_iso(start)} .. {shanghai_iso(end)} (records by event time; as of now)")
    print(resource_table(resources))
    print()
    print(kpi_table(rows))
    print(f"\nThe warehouse and Airflow's state stay in {cfg.home}: `citydata kpi` (today), `citydata audit`,\n"
          "the dashboard (`citydata airflow up`, then open /citydata/).")
    return 1 if missing else 0
