"""Helpers shared by tests (fixtures live in the conftest.py files).

Deliveries and warehouse counts; polling (``wait_until``); ports held while in use
(``reserve_port``) and a real SMTP server on one (``Inbox``); the throw-away PostgreSQL
database; the filled warehouse of the dashboard tests; the hand-computed KPI scenario.
"""

from __future__ import annotations

import csv
import datetime as dt
import email
import io
import json
import os
import socket
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, redirect_stdout
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pyarrow as pa
import pytest
import yaml
from sqlalchemy import text

from citydata.config import settings
from citydata.domain.time import LOCAL_TZ
from citydata.ingest.pipeline import load_batches
from citydata.kpi.compute import ready
from citydata.kpi.periods import period_for
from citydata.registry import load_registry
from citydata.share.publish import publish_all
from citydata.warehouse.db import engine, qualify, render, transaction
from citydata.warehouse.load import ts_param

REPO = Path(__file__).resolve().parent.parent


def drop(department: str, resource: str, name: str, rows: list[dict], columns: list[str] | None = None,
         encoding: str = "utf-8") -> Path:
    """Write a CSV delivery into the landing zone, as a department would."""
    path = settings().landing_dir / department / resource / name
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = columns or list(rows[0])
    with path.open("w", encoding=encoding, newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return path


def count(layer: str, table: str, where: str = "") -> int:
    eng = engine()
    with eng.connect() as conn:
        name = qualify(layer, table, conn.dialect.name)
        return conn.execute(text(f"SELECT COUNT(*) FROM {name} {where}")).scalar_one()


def fetch(sql: str, **params: object) -> list[dict]:
    eng = engine()
    with eng.connect() as conn:
        return [dict(r) for r in conn.execute(text(render(sql, conn.dialect.name)), params).mappings()]


def recent(hours: float = 1.0) -> dt.datetime:
    """A recent event time in Asia/Shanghai, whole minutes (suites reject stale and future times)."""
    t = dt.datetime.now(LOCAL_TZ) - dt.timedelta(hours=hours)
    return t.replace(second=0, microsecond=0)


def local_text(t: dt.datetime) -> str:
    """How departments write times: naive local wall-clock text."""
    return t.strftime("%Y-%m-%d %H:%M:%S")


def _as_utc(value: dt.datetime | str) -> dt.datetime:
    if isinstance(value, str):  # SQLite text
        value = dt.datetime.fromisoformat(value)
    return value.astimezone(dt.UTC)


def recount_events(url: str, table: str, event: str) -> Counter:
    """Rows per (batch, event second) of a core table, counted here in Python."""
    with transaction(url) as conn:
        rows = conn.execute(text(f"SELECT _batch_id, {event} FROM {qualify('core', table, conn.dialect.name)}")).all()
    return Counter((b, _as_utc(t).replace(microsecond=0)) for b, t in rows if t is not None)


def event_counts(url: str, department: str, resource: str) -> Counter:
    """audit.batch_events of one resource, as recount_events shapes them."""
    with transaction(url) as conn:
        rows = conn.execute(text(
            f"SELECT batch_id, t_event, n FROM {qualify('audit', 'batch_events', conn.dialect.name)} "
            "WHERE department = :d AND resource = :r AND n <> 0"), {"d": department, "r": resource}).all()
    return Counter({(b, _as_utc(t)): n for b, t, n in rows})


# --- polling -------------------------------------------------------------------------------------

def wait_until(predicate: Callable[[], object], timeout: float = 60, what: str = "condition", *,
               proc: subprocess.Popen | None = None, log: Path | None = None, interval: float = 0.05) -> object:
    """Poll until ``predicate()`` is truthy and return its value; fail naming ``what`` after ``timeout``.

    With ``proc``, stop early when that process has exited; with ``log``, the failure shows its tail.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(interval)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    exited = f" (process exited {proc.returncode})" if proc is not None and proc.poll() is not None else ""
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}{exited}\n{tail}".rstrip())


# --- ports ---------------------------------------------------------------------------------------

def reserve_port(port: int = 0, host: str = "127.0.0.1") -> socket.socket:
    """A TCP socket bound to host:port (0: one the OS picks) and not listening.

    While it is open nobody else can take the port and connections to it are refused, so it
    is both a free port to hand to a server (``sock=``) and an address where nothing answers.
    SO_REUSEPORT lets the next holder bind before the current listener closes (no gap).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


class Inbox:
    """A real SMTP server (aiosmtpd) collecting what it accepts; stops and starts on the same port.

    The port is held the whole time: by the listener while started, by a bound socket that
    refuses connections while stopped (an SMTP outage).
    """

    def __init__(self) -> None:
        self._held: socket.socket | None = reserve_port()
        self.port = self._held.getsockname()[1]
        self.received: list[tuple[str, list[str], bytes]] = []
        self.lock = threading.Lock()
        self.controller = None
        self.refuse: set[str] = set()  # recipients answered with 550 (unknown user)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # noqa: ANN001, N802
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001, N802 — aiosmtpd hook
        with self.lock:
            self.received.append((envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 Message accepted for delivery"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        sock, self._held = self._held or reserve_port(self.port), None

        class OnSocket(Controller):
            def _create_server(self):  # noqa: ANN202 — listen on the held socket instead of binding anew
                return self.loop.create_server(self._factory_invoker, sock=sock, ssl=self.ssl_context)

        self.controller = OnSocket(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self._held = reserve_port(self.port)  # before the listener closes: the port is never free
            self.controller.stop()
            self.controller = None

    def messages(self, kind: str | None = None) -> list[EmailMessage]:
        with self.lock:
            raw = [r[2] for r in self.received]
        msgs = [email.message_from_bytes(b, policy=policy.default) for b in raw]
        return [m for m in msgs if kind is None or m["X-Citydata-Kind"] == kind]

    def raw(self) -> list[bytes]:
        with self.lock:
            return [r[2] for r in self.received]


# --- databases and homes -------------------------------------------------------------------------

def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@contextmanager
def pg_database(admin_url: str, prefix: str = "cdt") -> Iterator[str]:
    """A fresh, empty PostgreSQL database (SQLAlchemy URL) on the admin's server; dropped afterwards."""
    import psycopg

    from citydata.warehouse.db import dispose_engines

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(libpq(admin_url), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield f"{admin_url.rpartition('/')[0]}/{name}"
    finally:
        dispose_engines()
        with psycopg.connect(libpq(admin_url), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def citydata_home(home: Path, monkeypatch: pytest.MonkeyPatch | None = None) -> Iterator[pytest.MonkeyPatch]:
    """An isolated CITYDATA_HOME (landing zone, embedded warehouse, outbox): the ``home`` fixture's body,
    also for module-scoped fixtures (which cannot use it); undone by ``monkeypatch`` when given, else at exit.
    """
    from citydata.ingest import pipeline
    from citydata.warehouse.db import dispose_engines

    home.mkdir(parents=True, exist_ok=True)
    with nullcontext(monkeypatch) if monkeypatch else pytest.MonkeyPatch.context() as mp:
        mp.setenv("CITYDATA_HOME", str(home))
        # Tests drop a file and run at once: no settle wait (the stability tests set their own).
        mp.setenv("CITYDATA_STABLE_SECONDS", "0")
        for var in ("CITYDATA_LANDING_DIR", "CITYDATA_WAREHOUSE_URL", "CITYDATA_REGISTRY", "CITYDATA_EXPECTATIONS_DIR"):
            mp.delenv(var, raising=False)
        pipeline._READY.clear()
        try:
            yield mp
        finally:
            dispose_engines()
            pipeline._READY.clear()


# --- the dashboard's filled warehouse ------------------------------------------------------------

RUN_ID = "manual__2026-11-28T10:00:00.123456+00:00"


def fill_warehouse(seed: int = 11, rows: int = 40, now: dt.datetime | None = None) -> None:
    """Mock deliveries for every department through the real ingest and sharing path.

    Water is ingested as if by an Airflow DAG run (run_id set), the others as by the CLI.
    """
    from citydata.ingest.pipeline import ingest_department
    from citydata.mock.generate import generate

    registry = load_registry()
    for dept in registry.departments:
        generate(registry, dept, rows=rows, seed=seed, defect_rate=0.03, now=now)
        ingest_department(dept, registry, run_id=RUN_ID if dept == "water" else None)
    publish_all(registry)


def cli_kpis(*args: str, separate_process: bool = False) -> list[dict]:
    """`citydata kpi --json`: the CLI's own code path, in this process or as a user runs it."""
    argv = ["kpi", *args, "--json"]
    if separate_process:
        proc = subprocess.run([str(REPO / ".venv" / "bin" / "citydata"), *argv], capture_output=True, text=True,
                              env=os.environ.copy(), timeout=120, check=False)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)
    from citydata.app.cli import main

    out = io.StringIO()
    with redirect_stdout(out):
        assert main(argv) == 0
    return json.loads(out.getvalue())


# --- the hand-computed KPI scenario (its oracle: tests/kpi/test_kpi_scenario.py's docstring) -------

DAY = dt.date(2026, 11, 10)
AS_OF = dt.datetime(2026, 11, 12, tzinfo=dt.UTC)
HOURS = (1, 7, 13, 19)


def sh(hour: int, day: dt.date = DAY, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), LOCAL_TZ).astimezone(dt.UTC)


def _res(sharing: str = "无条件共享", in_scope: bool = True, consumers: list[str] | None = None, **kw: object) -> dict:
    r = {"code": "T-1", "name_zh": "测试", "name_en": "test", "update_cycle": "实时", "interval_minutes": 360,
         "sharing_type": sharing, "in_scope": in_scope, "event_time": "event_at", "primary_key": ["id"],
         "fields": [{"name": "id", "type": "string", "required": True},
                    {"name": "event_at", "type": "timestamp", "required": True},
                    {"name": "value", "type": "float"}]}
    if consumers:
        r["consumers"] = consumers
    r.update(kw)
    return r


def _dept(resources: dict, **kw: object) -> dict:
    return {"name_zh": "测试部门", "name_en": "Test", "provider": "测试", "resources": resources, **kw}


def scenario_registry() -> dict:
    meters = _res("不予共享", False, update_cycle="每日", interval_minutes=1440, event_time="updated_at",
                  primary_key=["meter_id"], role="energy_meters", fields=[
                      {"name": "meter_id", "type": "string", "required": True},
                      {"name": "customer_type", "type": "string", "required": True},
                      {"name": "read_mode", "type": "string", "required": True},
                      {"name": "status", "type": "string", "required": True},
                      {"name": "updated_at", "type": "timestamp", "required": True}])
    readings = _res("不予共享", False, update_cycle="实时", interval_minutes=15, event_time="reading_time",
                    primary_key=["meter_id", "reading_time"], role="energy_readings", fields=[
                        {"name": "meter_id", "type": "string", "required": True},
                        {"name": "reading_time", "type": "timestamp", "required": True},
                        {"name": "read_method", "type": "string", "required": True}])
    return {
        "version": 1,
        "consumers": {"x": {"name_zh": "消费部门", "name_en": "Consumer X"}},
        "departments": {
            "alpha": _dept({"a1": _res(), "a2": _res(), "a3": _res("不予共享"), "a4": _res(in_scope=False)}),
            "beta": _dept({"b1": _res("有条件共享", consumers=["x"]), "b2": _res(), "b3": _res()}),
            "gamma": _dept({"c1": _res()}),
            "delta": _dept({"meters": meters, "readings": readings}, energy_utility="gas"),
        },
    }


# (resource, hours present, collection latencies s, sharing latencies s or None when not published)
PLAN = {
    ("alpha", "a1"): (HOURS, [300] * 4, [300] * 4),
    ("alpha", "a2"): (HOURS, [60, 60, 60, 301], [60, 60, 60, 301]),
    ("alpha", "a3"): (HOURS, [10] * 4, None),
    ("alpha", "a4"): (HOURS, [10] * 4, [20] * 4),
    ("beta", "b1"): (HOURS, [120] * 4, [240] * 4),
    ("beta", "b2"): ((1, 7, 19), [10] * 3, [20] * 3),
    ("gamma", "c1"): (HOURS, [10] * 4, [30] * 4),
}


def _load(conn, resource, rows: list[dict]) -> int:  # noqa: ANN001
    batch = pa.RecordBatch.from_pylist([{k: None if v is None else str(v) for k, v in r.items()} for r in rows])
    load, _ = load_batches(conn, resource, [batch], source_kind="test", source=f"test:{resource.key}")
    return load.batch_id


def _set_times(url: str, batch_times: list[tuple[int, dt.datetime, dt.datetime | None]]) -> None:
    """Deterministic t_landed / t_published per batch (the test's only write outside the load path)."""
    with transaction(url) as conn:
        d = conn.dialect.name
        for batch_id, landed, published in batch_times:
            conn.execute(text(f"UPDATE {qualify('audit', 'ingest_log', d)} SET t_landed = :t WHERE batch_id = :b"),
                         {"t": ts_param(landed, d), "b": batch_id})
            if published is not None:
                conn.execute(text(f"UPDATE {qualify('audit', 'publish_log', d)} SET t_published = :t "
                                  "WHERE batch_id = :b"), {"t": ts_param(published, d), "b": batch_id})


def build_scenario(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    path = tmp_path / "registry" / "departments.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(scenario_registry(), allow_unicode=True, sort_keys=False), encoding="utf-8")
    monkeypatch.setenv("CITYDATA_REGISTRY", str(path))
    registry = load_registry()
    ready(registry, url)
    times = []
    for (dept, name), (hours, collect, share) in PLAN.items():
        res = registry.resource(dept, name)
        for h, c, s in zip(hours, collect, share or [None] * len(hours), strict=True):
            event = sh(h)
            with transaction(url) as conn:
                batch = _load(conn, res, [{"id": f"{name}-{h}", "event_at": event.isoformat(), "value": 1.5}])
            times.append((batch, event + dt.timedelta(seconds=c), None if s is None else event + dt.timedelta(seconds=s)))
    ref = period_for("day", DAY).end  # energy reference time of the complete day
    delta_meters, delta_readings = registry.resource("delta", "meters"), registry.resource("delta", "readings")
    with transaction(url) as conn:
        upd = (ref - dt.timedelta(days=3)).isoformat()
        _load(conn, delta_meters, [
            {"meter_id": "M1", "customer_type": "residential", "read_mode": "remote", "status": "active", "updated_at": upd},
            {"meter_id": "M2", "customer_type": "residential", "read_mode": "remote", "status": "active", "updated_at": upd},
            {"meter_id": "M3", "customer_type": "residential", "read_mode": "manual", "status": "active", "updated_at": upd},
            {"meter_id": "M4", "customer_type": "commercial", "read_mode": "remote", "status": "active", "updated_at": upd},
            {"meter_id": "M5", "customer_type": "residential", "read_mode": "remote", "status": "inactive", "updated_at": upd},
        ])
    with transaction(url) as conn:
        readings_batch = _load(conn, delta_readings, [
            {"meter_id": "M1", "reading_time": (ref - dt.timedelta(hours=1)).isoformat(), "read_method": "auto"},
            {"meter_id": "M2", "reading_time": (ref - dt.timedelta(hours=25)).isoformat(), "read_method": "auto"},
            {"meter_id": "M2", "reading_time": (ref - dt.timedelta(hours=2)).isoformat(), "read_method": "manual"},
            {"meter_id": "M3", "reading_time": (ref - dt.timedelta(hours=3)).isoformat(), "read_method": "manual"},
            {"meter_id": "M4", "reading_time": (ref - dt.timedelta(hours=1)).isoformat(), "read_method": "auto"},
            {"meter_id": "M5", "reading_time": (ref - dt.timedelta(hours=1)).isoformat(), "read_method": "auto"},
        ])
    times.append((readings_batch, ref - dt.timedelta(minutes=30), None))  # landed before AS_OF
    publish_all(registry, url)
    _set_times(url, times)
    return registry


# Raw layers: what may hold delivered content as delivered (everything else is "outgoing").
RAW_LAYERS = ("landing", "archive", "processing", "warehouse.db", "watch")


def outgoing_texts(extra: list[str] = ()) -> dict[str, str]:
    """Every text outside the restricted layers after a run: files under CITYDATA_HOME except the raw
    layers (but with the rejected/ .error.json files), every audit row, the outbox messages, the
    validation results; plus ``extra`` (log lines, CLI output). {where: text}."""
    cfg = settings()
    out: dict[str, str] = {}
    for p in cfg.home.rglob("*"):
        rel = p.relative_to(cfg.home)
        if not p.is_file() or rel.parts[0] in RAW_LAYERS or rel.parts[0].startswith("warehouse"):
            continue
        if rel.parts[0] == "rejected" and not p.name.endswith(".error.json"):
            continue  # the rejected delivery itself is a raw layer; its .error.json is read by people
        out[str(rel)] = p.read_bytes().decode("utf-8", "replace")
    with engine().connect() as conn:
        d = conn.dialect.name
        for schema, table in (("audit", "ingest_log"), ("quality", "validation_results")):
            try:
                rows = conn.execute(text(f"SELECT * FROM {qualify(schema, table, d)}")).mappings().all()
            except Exception:  # noqa: BLE001 — a table this setup does not have
                conn.rollback()
                continue
            out[f"{schema}.{table}"] = json.dumps([dict(r) for r in rows], ensure_ascii=False, default=str)
        rows = conn.execute(text(f"SELECT message FROM {qualify('quality', 'notifications', d)}")).scalars().all()
    for i, raw in enumerate(rows):  # decoded: bodies and attachments are base64 on the wire
        msg = email.message_from_string(raw, policy=policy.default)
        parts = [msg["Subject"] or ""] + [p.get_payload(decode=True).decode("utf-8", "replace")
                                         for p in msg.walk() if not p.is_multipart()]
        out[f"quality.notifications[{i}]"] = "\n".join(parts)
    for p in cfg.outbox_dir.rglob("*.eml") if cfg.outbox_dir.is_dir() else ():
        msg = email.message_from_bytes(p.read_bytes(), policy=policy.default)
        out[f"outbox/{p.name}"] = "\n".join(part.get_payload(decode=True).decode("utf-8", "replace")
                                            for part in msg.walk() if not part.is_multipart())
    for i, line in enumerate(extra):
        out[f"extra[{i}]"] = line
    return out


def leaks(values: list[str], texts: dict[str, str]) -> list[tuple[str, str]]:
    """(value, where) for every sensitive value found in clear in an outgoing text."""
    return [(v, where) for v in values for where, t in texts.items() if v and v in t]


# Pinyin names (issue 15: personal names in ASCII file names): common surnames and given-name syllables.
PINYIN_SURNAMES = (
    "wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he gao lin luo zheng liang xie song tang "
    "han feng deng cao peng zeng xiao tian dong yuan pan cai jiang yu du ye cheng wei su lyu ding ren shen yao lu "
    "jin zhong cui qiu qin gu hou shao meng long wan duan lei qian yin yi chang qiao lai gong wen ouyang sima".split())
PINYIN_GIVEN = (
    "wei fang na min jing li qiang lei jun yang yong yan jie juan tao chao xiu xia gui ying hua ping gang hong mei "
    "lan hui ming xin yu hao bo tian yi chen rui jia xuan zi han yue ting lin qing kai peng fei san si".split())


def pinyin_name():  # noqa: ANN201 — a hypothesis strategy
    """A person's name in pinyin: surname + 1-2 given syllables, each lower/upper/title case, joined
    by nothing, '_', '-', ' ' or '.' (zhangsan, Li-Wei, WANG xiu.ying)."""
    from hypothesis import strategies as st

    syllable_case = st.sampled_from([str.lower, str.upper, str.title])
    part = lambda pool: st.builds(lambda s, f: f(s), st.sampled_from(pool), syllable_case)  # noqa: E731
    return st.builds(lambda s, given, sep: sep.join([s, *given]), part(PINYIN_SURNAMES),
                     st.lists(part(PINYIN_GIVEN), min_size=1, max_size=2), st.sampled_from(["", "_", "-", " ", "."]))


def headless_chromium(lang: str = "zh-CN", tz: str | None = None, size: str = "1400,2400"):  # noqa: ANN201
    """(driver, profile dir) of a headless Chromium with its own profile, language and time zone;
    skipped when the browser is missing, a failure under CI=true (scripts/install_browser.sh)."""
    import shutil
    import tempfile

    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("chromium and chromedriver are required under CI=true (scripts/install_browser.sh)")
        pytest.skip("chromium/chromedriver not installed (run scripts/install_browser.sh)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--window-size={size}", f"--lang={lang}"):
        opts.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="citydata-chromium-")
    opts.add_argument(f"--user-data-dir={profile}")
    env = dict(os.environ, TZ=tz) if tz else None  # the browser's own time zone
    return webdriver.Chrome(options=opts, service=Service(driver, env=env)), profile
