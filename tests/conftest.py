"""Shared fixtures: an isolated embedded setup per test, and a fresh PostgreSQL database.

PostgreSQL tests read CITYDATA_TEST_PG_URL (default: the local server's `test` database,
used only as the admin connection to create throw-away databases). Under CI=true they
must run: an unreachable server fails them instead of skipping.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import citydata_home, libpq, pg_database

PG_ADMIN_URL = os.environ.get("CITYDATA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"
REPO = Path(__file__).resolve().parent.parent


def _pg_available() -> str | None:
    import psycopg

    try:
        with psycopg.connect(libpq(PG_ADMIN_URL), connect_timeout=3):
            return None
    except Exception as exc:  # noqa: BLE001
        return str(exc).splitlines()[0]


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
    with pg_database(pg_server) as url:
        yield url


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An isolated CITYDATA_HOME (landing zone, embedded warehouse, outbox) for one test."""
    h = tmp_path / "home"
    with citydata_home(h, monkeypatch):
        yield h


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def warehouse_url(request: pytest.FixtureRequest, home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test using this runs on the embedded SQLite default and on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{home / 'warehouse.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    monkeypatch.setenv("CITYDATA_WAREHOUSE_URL", url)
    return url
