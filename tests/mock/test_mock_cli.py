"""`citydata mock-api` and `citydata mock-db` as users run them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.helpers import wait_until


def test_mock_db_once_creates_and_backfills_the_sqlite_default(home: Path, capsys: pytest.CaptureFixture) -> None:
    from citydata.app.cli import main

    assert main(["mock-db", "--once", "--backfill-hours", "6"]) == 0
    out = capsys.readouterr().out
    db = home / "mock" / "health.db"
    assert f"CITYDATA_HEALTH_DB_URL=sqlite:///{db}" in out
    eng = create_engine(f"sqlite:///{db}")
    with eng.connect() as conn:
        visits = conn.execute(text("SELECT count(*) FROM card_visits")).scalar_one()
        insts = conn.execute(text("SELECT count(*) FROM institutions")).scalar_one()
    eng.dispose()
    assert visits > 0 and insts > 20
    assert main(["mock-db", "--once"]) == 0  # a second start continues the same database
    eng = create_engine(f"sqlite:///{db}")
    with eng.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM card_visits")).scalar_one() >= visits
    eng.dispose()


def test_mock_api_serves_with_token_and_faults_until_stopped(home: Path) -> None:
    env = {**os.environ, "CITYDATA_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-m", "citydata.app.cli", "mock-api", "--port", "0", "--token", "tk",
                             "--fault", "error=1", "--tick", "0.2"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        head = [proc.stdout.readline() for _ in range(3)]  # printed after binding: the port it holds
        assert head[0].startswith("parking API on http://127.0.0.1:"), head
        url = head[0].split()[3].removesuffix("/api/v1")

        def healthy() -> bool:
            try:
                return httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(healthy, 60, "mock-api", proc=proc)
        assert httpx.get(f"{url}/api/v1/sessions").status_code == 401
        auth = {"Authorization": "Bearer tk"}
        assert httpx.get(f"{url}/api/v1/sessions", headers=auth).status_code in (500, 502, 503)
        httpx.post(f"{url}/api/v1/admin/faults", headers=auth, json={"error": 0})
        body = httpx.get(f"{url}/api/v1/occupancy", headers=auth, params={"limit": 5}).json()
        assert len(body["data"]) == 5 and body["next_cursor"]
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    assert "CITYDATA_PARKING_API_TOKEN=tk" in "".join(head) + out


def test_mock_api_rejects_an_unknown_fault(home: Path, capsys: pytest.CaptureFixture) -> None:
    from citydata.app.cli import main

    assert main(["mock-api", "--fault", "explode=1"]) == 1
    assert "unknown fault 'explode'" in capsys.readouterr().err
