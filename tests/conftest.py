"""Shared fixtures: an isolated embedded setup per test, and a fresh PostgreSQL database.

PostgreSQL tests read CITYDATA_TEST_PG_URL (default: the local server's `test` database,
used only as the admin connection to create throw-away databases). Under CI=true they
must run: an unreachable server fails them instead of skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_ADMIN_URL = os.environ.get("CITYDATA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"
REPO = Path(__file__).resolve().parent.parent


def _pg_available() -> str | None:
    import psycopg

    try:
        with psycopg.connect(_libpq(PG_ADMIN_URL), connect_timeout=3):
            return None
    except Exception as exc:  # noqa: BLE001
        return str(exc).splitlines()[0]


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def pg_server() -> str:
    problem = _pg_available()
    if problem:
        if IN_CI:
            pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is required under CI=true: {problem}")
        pytest.skip(f"PostgreSQL unavailable: {problem}")
    return PG_ADMIN_URL


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test; dropped afterwards."""
    import psycopg

    name = f"cdt_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(pg_server), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = with_database(pg_server, name)
    yield url
    from citydata.warehouse.db import dispose_engines

    dispose_engines()
    with psycopg.connect(_libpq(pg_server), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated CITYDATA_HOME (landing zone, embedded warehouse, outbox) for one test."""
    h = tmp_path / "home"
    h.mkdir()
    monkeypatch.setenv("CITYDATA_HOME", str(h))
    # Tests drop a file and run at once: no settle wait (the stability tests set their own).
    monkeypatch.setenv("CITYDATA_STABLE_SECONDS", "0")
    for var in ("CITYDATA_LANDING_DIR", "CITYDATA_WAREHOUSE_URL", "CITYDATA_REGISTRY", "CITYDATA_EXPECTATIONS_DIR"):
        monkeypatch.delenv(var, raising=False)
    from citydata.ingest import pipeline as ingest
    from citydata.warehouse.db import dispose_engines

    ingest._READY.clear()
    yield h
    dispose_engines()
    ingest._READY.clear()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def warehouse_url(request: pytest.FixtureRequest, home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test using this runs on the embedded SQLite default and on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{home / 'warehouse.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    monkeypatch.setenv("CITYDATA_WAREHOUSE_URL", url)
    return url
