"""The warehouse layer itself: DDL idempotency, SQL rendering, SQLite locking."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from citydata.registry import load_registry
from citydata.warehouse.db import engine, render, transaction
from citydata.warehouse.schema import ensure_schema


def test_schema_creation_is_idempotent(warehouse_url: str) -> None:
    reg = load_registry()
    ensure_schema(reg, warehouse_url)
    ensure_schema(reg, warehouse_url)
    with engine(warehouse_url).connect() as conn:
        for r in reg.resources:
            name = f"core.{r.table}" if conn.dialect.name == "postgresql" else f"core__{r.table}"
            assert conn.execute(text(f"SELECT COUNT(*) FROM {name}")).scalar_one() == 0


def test_render_maps_layers_only_on_sqlite() -> None:
    sql = "SELECT x FROM core.water__meters JOIN audit.ingest_log ON {{col}} = 1 -- {{t_timestamp}}"
    assert render(sql, "postgresql", col="a") == "SELECT x FROM core.water__meters JOIN audit.ingest_log ON a = 1 -- TIMESTAMPTZ"
    assert render(sql, "sqlite", col="a") == "SELECT x FROM core__water__meters JOIN audit__ingest_log ON a = 1 -- TEXT"
    with pytest.raises(KeyError, match="no value"):
        render("{{missing}}", "sqlite")


@pytest.mark.timeout(30)
def test_sqlite_reads_never_wait_for_an_open_write_transaction(home: Path) -> None:
    """A reader on another connection (e.g. a report path lookup) must not block behind a writer."""
    url = f"sqlite:///{home / 'w.db'}"
    ensure_schema(load_registry(), url)
    with transaction(url) as writer:
        writer.execute(text("INSERT INTO meta__watermarks VALUES ('d', 'r', 's', 'w', '2026-01-01')"))
        with engine(url).connect() as reader:
            assert reader.execute(text("SELECT COUNT(*) FROM meta__watermarks")).scalar_one() == 0
    with engine(url).connect() as reader:
        assert reader.execute(text("SELECT COUNT(*) FROM meta__watermarks")).scalar_one() == 1


def test_unreachable_warehouse_is_one_clear_error() -> None:
    from citydata.errors import CitydataError

    with pytest.raises(CitydataError, match=r"warehouse postgresql\+psycopg://nobody@127.0.0.1:1/x"), \
            transaction("postgresql+psycopg://nobody@127.0.0.1:1/x"):
        pass
