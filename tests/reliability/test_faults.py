"""Fault injection on the ingest path: each fault is injected for real, and nothing may be lost.

- the warehouse backend is terminated mid-load (pg_terminate_backend while the upsert runs)
- the worker process is SIGKILLed mid-load (claimed file recovered, loaded exactly once)
- two ingest runs of the same department at once (each file loaded by exactly one of them)
- the archive folder is full (tmpfs of 64 KiB) or unusable: the file stays in the landing zone

Mid-load is made deterministic by holding a lock on the core table from the test: the load
blocks inside its transaction, and the test injects the fault while it waits.
Outcomes go to test-artifacts/reliability/faults/ for `make reliability-report`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.helpers import wait_until

REPO = Path(__file__).resolve().parents[2]


def deliver(rows: int, seed: int = 1, department: str = "water", resource: str = "meter_readings") -> Path:
    from citydata.mock.generate import generate
    from citydata.registry import load_registry

    return generate(load_registry(), department, resources=[resource], rows=rows, seed=seed)[0]


def counts(url: str, table: str = "water__meter_readings") -> dict:
    from citydata.warehouse.db import qualify, transaction

    with transaction(url) as conn:
        d = conn.dialect.name
        audit = conn.execute(text(
            f"SELECT COUNT(*) AS batches, COALESCE(SUM(rows_read), 0) AS r, COALESCE(SUM(rows_loaded), 0) AS l, "
            f"COALESCE(SUM(rows_quarantined), 0) AS q, COALESCE(SUM(rows_duplicate), 0) AS dup "
            f"FROM {qualify('audit', 'ingest_log', d)}")).one()
        core = conn.execute(text(f"SELECT COUNT(*) FROM {qualify('core', table, d)}")).scalar()
        quarantine = conn.execute(text(f"SELECT COUNT(*) FROM {qualify('quality', 'quarantine', d)}")).scalar()
    return {"batches": audit.batches, "read": audit.r, "loaded": audit.l, "quarantined": audit.q, "duplicate": audit.dup,
            "core": core, "quarantine_rows": quarantine}


def landing_files(cfg) -> list[Path]:  # noqa: ANN001
    return sorted(p for p in cfg.landing_dir.rglob("*") if p.is_file())


def claimed_files(cfg) -> list[Path]:  # noqa: ANN001
    root = cfg.zone_root / "processing"
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name != ".lock") if root.exists() else []


class CoreLock:
    """Hold ACCESS EXCLUSIVE on a core table from another session, so a load blocks mid-transaction."""

    def __init__(self, url: str, table: str = "core.water__meter_readings") -> None:
        import psycopg

        self.dbname = url.rsplit("/", 1)[1]
        libpq = url.replace("postgresql+psycopg://", "postgresql://")
        self.conn = psycopg.connect(libpq)
        self.conn.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        # pg_stat_activity is a per-transaction snapshot: watch from a separate autocommit session.
        self.monitor = psycopg.connect(libpq, autocommit=True)

    def waiting_backend(self) -> int | None:
        """pid of a session of the test database blocked on our lock (the load)."""
        row = self.monitor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock' AND pid <> pg_backend_pid() "
            "AND (query ILIKE '%%INSERT INTO core.%%' OR query ILIKE 'LOCK TABLE core.%%')",
            (self.dbname,)).fetchone()
        return row[0] if row else None

    def terminate(self, pid: int) -> None:
        self.monitor.execute("SELECT pg_terminate_backend(%s)", (pid,))

    def release(self) -> None:
        self.conn.rollback()
        self.conn.close()
        self.monitor.close()


@pytest.fixture
def pg_home(home: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """An isolated home whose warehouse is a fresh PostgreSQL database, schema created."""
    from citydata.config import settings
    from citydata.ingest.pipeline import prepare
    from citydata.registry import load_registry

    monkeypatch.setenv("CITYDATA_WAREHOUSE_URL", pg_url)
    prepare(load_registry(), settings())
    return pg_url


@pytest.mark.pg
@pytest.mark.timeout(180)
def test_warehouse_backend_terminated_mid_load(pg_home: str, fault: dict) -> None:
    """The load's backend dies mid-transaction: nothing committed, file back in landing, retry loads once."""
    from citydata.config import settings
    from citydata.errors import CitydataError
    from citydata.ingest.pipeline import ingest_department

    cfg = settings()
    path = deliver(3000)
    fault["injected"] = "pg_terminate_backend() on the load's session while it waits inside its transaction"
    lock = CoreLock(pg_home)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            ingest_department("water")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    worker = threading.Thread(target=run)
    try:
        worker.start()
        pid = wait_until(lock.waiting_backend, what="the load to block on the core table")
        assert claimed_files(cfg) and not landing_files(cfg), "the file is claimed while it loads"
        lock.terminate(pid)
    finally:
        lock.release()
        worker.join(60)
    assert len(errors) == 1 and isinstance(errors[0], CitydataError), errors
    assert "warehouse" in str(errors[0])
    after_fault = counts(pg_home)
    assert (after_fault["batches"], after_fault["core"], after_fault["quarantine_rows"]) == (0, 0, 0), after_fault
    assert landing_files(cfg) == [path], "the file went back to the landing zone"
    assert not claimed_files(cfg)

    records = ingest_department("water")  # the retry
    assert [r.status for r in records] in (["loaded"], ["partial"])
    final = counts(pg_home)
    r = records[0]
    assert final["batches"] == 1 and r.rows_read == 3000
    assert final["core"] == r.rows_loaded and final["quarantine_rows"] == r.rows_quarantined
    assert r.rows_read == r.rows_loaded + r.rows_quarantined + r.rows_duplicate
    assert ingest_department("water") == [] and not landing_files(cfg)
    fault.update(outcome=f"{type(errors[0]).__name__}: transaction rolled back (0 rows, 0 audit rows); file back in "
                         f"landing; retry loaded {r.rows_loaded} + quarantined {r.rows_quarantined} of {r.rows_read} once",
                 rows_lost=r.rows_read - r.rows_loaded - r.rows_quarantined - r.rows_duplicate, ok=True)


def _ingest_subprocess(department: str, env: dict[str, str], schema_ready: bool = False) -> subprocess.Popen:
    """A separate worker process running one ingest of the department (prints its records as JSON)."""
    code = ("import json, sys\n"
            "from citydata.ingest import pipeline as ingest\n"
            "from citydata.config import settings\n"
            "from citydata.registry import load_registry\n"
            # The test created the schema; skipping ensure_schema keeps its DDL out of the held table lock.
            + ("ingest._READY.add((settings().warehouse_url, str(load_registry().path)))\n" if schema_ready else "")
            + f"print(json.dumps([r.as_dict() for r in ingest.ingest_department({department!r})]))\n")
    return subprocess.Popen([sys.executable, "-c", code], env=env, cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.pg
@pytest.mark.slow
@pytest.mark.timeout(180)
def test_worker_sigkilled_mid_load(pg_home: str, fault: dict) -> None:
    """kill -9 of the ingest process mid-load: the claim is recovered by the next run, loaded exactly once."""
    from citydata.config import settings
    from citydata.ingest.pipeline import ingest_department

    cfg = settings()
    path = deliver(2000, seed=2)
    fault["injected"] = "SIGKILL of the ingest worker process while its load transaction is open"
    lock = CoreLock(pg_home)
    proc = _ingest_subprocess("water", dict(os.environ), schema_ready=True)
    try:
        wait_until(lock.waiting_backend, what="the worker's load to block on the core table")
        held = claimed_files(cfg)
        assert [p.name for p in held] == [path.name] and not landing_files(cfg)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
        lock.release()
    assert proc.returncode == -signal.SIGKILL
    # The dead worker's session ends without COMMIT: nothing of it may be visible.
    wait_until(lambda: counts(pg_home)["batches"] == 0 and not LockFree.backends(pg_home), what="the killed session to end")
    assert claimed_files(cfg), "a killed worker leaves its claim behind"

    records = ingest_department("water")  # recovers the claim, loads it
    assert len(records) == 1 and records[0].source == f"water/meter_readings/{path.name}"
    final = counts(pg_home)
    r = records[0]
    assert final["batches"] == 1 and final["core"] == r.rows_loaded and r.rows_read == 2000
    assert r.rows_read == r.rows_loaded + r.rows_quarantined + r.rows_duplicate
    assert not claimed_files(cfg) and not landing_files(cfg)
    assert ingest_department("water") == []
    fault.update(outcome=f"claim left in processing/ recovered by the next run; loaded once "
                         f"({r.rows_loaded} loaded + {r.rows_quarantined} quarantined of {r.rows_read})",
                 rows_lost=r.rows_read - r.rows_loaded - r.rows_quarantined - r.rows_duplicate, ok=True)


class LockFree:
    @staticmethod
    def backends(url: str) -> int:
        """Other sessions still connected to the test database (e.g. a killed worker's, until it ends)."""
        import psycopg

        db = url.rsplit("/", 1)[1]
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
            return conn.execute("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() "
                                "AND state <> 'idle'", (db,)).fetchone()[0]


@pytest.mark.timeout(300)
@pytest.mark.parametrize("dialect", ["sqlite", pytest.param("postgresql", marks=[pytest.mark.pg, pytest.mark.slow])])
def test_two_concurrent_runs_load_each_file_once(dialect: str, home: Path, fault: dict, request: pytest.FixtureRequest,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Two worker processes ingest the same department at once: every file is loaded by exactly one."""
    import csv

    from citydata.config import settings
    from citydata.ingest.pipeline import prepare
    from citydata.registry import load_registry

    warehouse_url = request.getfixturevalue("pg_url") if dialect == "postgresql" else f"sqlite:///{home / 'warehouse.db'}"
    monkeypatch.setenv("CITYDATA_WAREHOUSE_URL", warehouse_url)
    cfg = settings()
    prepare(load_registry(), cfg)
    paths = [deliver(300, seed=s) for s in range(10, 16)]
    keys = set()
    for p in paths:
        with p.open(encoding="utf-8") as fh:
            keys |= {(r["meter_id"], r["reading_time"]) for r in csv.DictReader(fh)}
    fault["injected"] = f"two ingest_water processes started together over {len(paths)} waiting files"
    procs = [_ingest_subprocess("water", dict(os.environ), schema_ready=True) for _ in range(2)]
    outputs = []
    for p in procs:
        out, err = p.communicate(timeout=200)
        assert p.returncode == 0, err[-2000:]
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    sources = [r["source"] for out in outputs for r in out]
    assert sorted(sources) == sorted(f"water/meter_readings/{p.name}" for p in paths), "each file once, none missed"
    c = counts(warehouse_url)
    assert c["batches"] == len(paths) and c["duplicate"] == 0
    assert c["read"] == 300 * len(paths) == c["loaded"] + c["quarantined"] and c["quarantined"] == 0
    assert c["core"] == len(keys), "core holds each distinct key once (later files update earlier rows)"
    assert not landing_files(cfg) and not claimed_files(cfg)
    fault.update(outcome=f"files split {len(outputs[0])}/{len(outputs[1])} between the runs; each loaded once, "
                         f"0 double loads", rows_lost=c["read"] - c["loaded"] - c["quarantined"] - c["duplicate"], ok=True)


def test_live_claim_is_not_recovered_dead_claim_is(home: Path) -> None:
    """recover_claims leaves a running claim alone and returns an abandoned one to the landing zone."""
    from citydata.config import settings
    from citydata.ingest import landing
    from citydata.registry import load_registry

    cfg = settings()
    path = deliver(5, seed=40)
    waiting = landing.waiting_files(load_registry(), "water", cfg)
    with landing.claim(waiting[0], cfg) as held:
        assert held is not None and not path.exists()
        assert landing.recover_claims(cfg) == []  # our lock is held
        with landing.claim(waiting[0], cfg) as second:
            assert second is None  # a second run skips the claimed file
    assert path.exists(), "leaving the block without archiving puts the file back"
    # An abandoned claim: a folder with a lock file nobody holds (its process is gone).
    dead = cfg.zone_root / "processing" / f"dead-{uuid.uuid4().hex[:6]}" / "water" / "meter_readings"
    dead.mkdir(parents=True)
    (dead.parent.parent / landing.LOCK).touch()
    path.rename(dead / path.name)
    assert landing.recover_claims(cfg) == [path] and path.exists()
    assert not any((cfg.zone_root / "processing").iterdir())


def _mount_tiny_tmpfs(folder: Path) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    try:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


@pytest.mark.timeout(120)
def test_archive_disk_full(home: Path, fault: dict) -> None:
    """No space in archive/: the load commits, the file stays in landing/ (no partial copy), the error names it;
    once there is space the next run archives it as a duplicate delivery (nothing loaded twice)."""
    from citydata.config import settings
    from citydata.errors import CitydataError
    from citydata.ingest.pipeline import ingest_department

    cfg = settings()
    path = deliver(2000, seed=5)  # ~150 KB: larger than the 64 KiB archive
    size = path.stat().st_size
    tmpfs = _mount_tiny_tmpfs(cfg.archive_dir)
    if not tmpfs:  # no mount permission: an archive/ that cannot be created is the same failure for us
        cfg.archive_dir.rmdir()
        cfg.archive_dir.write_text("not a folder")
    fault["injected"] = ("archive/ on a 64 KiB tmpfs (ENOSPC)" if tmpfs else "archive/ unusable (a file, not a folder)")
    try:
        with pytest.raises(CitydataError, match="stays in landing/") as err:
            ingest_department("water")
        assert path.name in str(err.value)
        assert landing_files(cfg) == [path] and path.stat().st_size == size and not claimed_files(cfg)
        if tmpfs:
            assert not any(cfg.archive_dir.rglob(path.name)), "no partial copy left in the archive"
        first = counts(cfg.warehouse_url)
        assert first["batches"] == 1 and first["core"] == first["loaded"]
    finally:
        if tmpfs:
            subprocess.run(["umount", str(cfg.archive_dir)], check=True, timeout=30)
        else:
            cfg.archive_dir.unlink()
    records = ingest_department("water")
    assert [(r.status, r.rows_duplicate, r.rows_loaded) for r in records] == [("loaded", 2000, 0)]
    assert list(cfg.archive_dir.rglob(path.name)) and not landing_files(cfg)
    final = counts(cfg.warehouse_url)
    assert final["core"] == first["core"] and final["loaded"] == first["loaded"]
    fault.update(outcome=f"error raised naming the file; it stayed in landing/; after space returned it was archived "
                         f"as a duplicate delivery ({first['loaded']} rows loaded once)",
                 rows_lost=final["read"] - final["loaded"] - final["quarantined"] - final["duplicate"], ok=True)
