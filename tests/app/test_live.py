"""`citydata demo --live`: the real platform (api-server, scheduler, dag-processor, triggerer, LocalExecutor)
with mock departments delivering in real time, for two minutes. Slow; no timing assertions: which tier a
resource reaches depends on the machine's load, so the test checks that what is printed is what landed."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

pytestmark = [pytest.mark.slow, pytest.mark.airflow]
BUDGET_S = float(os.environ.get("CITYDATA_LIVE_BUDGET_S", "3000"))  # start-up alone took 16 min at load 25


@pytest.mark.timeout(BUDGET_S + 120)
def test_live_mode_delivers_in_real_time_and_reports_what_landed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITYDATA_", "AIRFLOW"))}
    env["CITYDATA_HOME"] = str(home)
    proc = subprocess.run([sys.executable, "-m", "citydata.app.cli", "demo", "--live", "2", "--every", "30"],
                          env=env, capture_output=True, text=True, timeout=BUDGET_S, check=False)
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:] + proc.stderr[-3000:]
    assert "==> live window" in out and "指标 indicators — window live" in out
    eng = create_engine(f"sqlite:///{home / 'warehouse.db'}")
    try:
        with eng.connect() as conn:
            # the embedded default (SQLite) names tables <schema>__<table>
            audits = conn.execute(text("SELECT department, resource, source, source_kind, status "
                                       "FROM audit__ingest_log")).all()
            remote = [a for a in audits if "_remote_" in a.source]
            # 2 minutes every 30 s: four deliveries per remote-read utility, each loaded (water with a few defects)
            assert {(a.department, len([b for b in remote if b.department == a.department])) for a in remote} == {
                ("water", 4), ("gas", 4)}
            assert {a.status for a in remote} <= {"loaded", "partial"}
            assert any("_manual_" in a.source for a in audits)  # the late batch landed too
            pulled = {a.department for a in audits if a.source_kind != "file" and a.status in ("loaded", "partial")}
            assert {"parking", "health"} <= pulled  # pulled on their cron while the API and database changed
            res = {(r.department, r.resource): r for r in conn.execute(text(
                "SELECT * FROM kpi__resource_rates WHERE period_type = 'window'")).all()}
            wm = res[("water", "meter_readings")]
            start, end = _utc(wm.period_start), _utc(wm.period_end)
            core = sum(1 for (t,) in conn.execute(text("SELECT reading_time FROM core__water__meter_readings"))
                       if start <= _utc(t) < end)
            assert wm.records == core > 0  # counted from what landed
            county = conn.execute(text("SELECT * FROM kpi__rates WHERE period_type = 'window' "
                                       "AND department = 'county'")).one()
            in_scope = [r for r in res.values() if r.in_scope]
            assert county.resources_in_scope == len(in_scope)
            assert county.resources_collected_rt == sum(1 for r in in_scope if r.collected_rt)
    finally:
        eng.dispose()


def _utc(value: object) -> dt.datetime:
    t = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return (t if t.tzinfo else t.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


@pytest.mark.timeout(BUDGET_S + 120)
def test_live_mode_stopped_by_sigterm_stops_the_platform_it_started(tmp_path: Path) -> None:
    """A SIGTERM (an engineer's kill, a CI timeout) unwinds the live run: no Airflow component is left behind."""
    import signal

    from tests.helpers import wait_until

    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITYDATA_", "AIRFLOW"))}
    env["CITYDATA_HOME"] = str(home)
    log = tmp_path / "live.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "citydata.app.cli", "demo", "--live", "30"], env=env,
                                stdout=out, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until(lambda: "triggerer: healthy" in log.read_text(), BUDGET_S, "the live platform", proc=proc, log=log,
                   interval=1.0)
        pids = [int(p.read_text()) for p in home.rglob("stack/*.pid")]
        assert len(pids) == 4
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=300) == 128 + signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not list(home.rglob("stack/*.pid"))
    assert not [p for p in pids if _ours_and_running(p, home)], log.read_text()[-2000:]


def _ours_and_running(pid: int, home: Path) -> bool:
    """The process runs (not a zombie) and is one of this test's (a pid can be reused by then)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return state != "Z" and f"CITYDATA_HOME={home}".encode() in environ
