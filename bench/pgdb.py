"""A dedicated throw-away PostgreSQL database for one benchmark run (created, then dropped)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

ADMIN_URL = os.environ.get(
    "CITYDATA_BENCH_PG_URL", os.environ.get("CITYDATA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
)


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@contextmanager
def throwaway_database(prefix: str = "cdbench") -> Iterator[str]:
    """Yield the SQLAlchemy URL of a fresh database; it is dropped afterwards, whatever happens."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(libpq(ADMIN_URL), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = f"{ADMIN_URL.rpartition('/')[0]}/{name}"
    try:
        yield url
    finally:
        from citydata.warehouse.db import dispose_engines

        dispose_engines()
        with psycopg.connect(libpq(ADMIN_URL), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
