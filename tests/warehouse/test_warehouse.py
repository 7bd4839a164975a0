"""The warehouse layer itself: DDL idempotency, SQL rendering, SQLite locking."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from citydata.bootstrap import ensure_schema
from citydata.registry import load_registry
from citydata.warehouse.db import engine, render, transaction


def test_schema_creation_is_idempotent(warehouse_url: str) -> None:
    reg = load_registry()
    ensure_schema(reg, warehouse_url)
    ensure_schema(reg, warehouse_url)
    with engine(warehouse_url).connect() as conn:
        for r in reg.resources:
            name = f"core.{r.table}" if conn.dialect.name == "postgresql" else f"core__{r.table}"
            assert conn.execute(text(f"SELECT COUNT(*) FROM {name}")).scalar_one() == 0


def test_schema_set_up_is_skipped_while_registry_sql_and_code_are_unchanged(warehouse_url: str, tmp_path: Path) -> None:
    """Every task process calls ensure_schema: with the recorded fingerprint it does no DDL and takes no lock;
    a warehouse without it (new, or set up by an older version) and a changed registry get the full set-up."""
    import shutil

    from citydata.bootstrap import fingerprint
    from citydata.warehouse.db import qualify

    reg = load_registry()
    ensure_schema(reg, warehouse_url)
    with engine(warehouse_url).connect() as conn:
        d = conn.dialect.name
        state = qualify("meta", "schema_state", d)
        assert conn.execute(text(f"SELECT fingerprint FROM {state}")).scalar_one() == fingerprint(str(reg.path))
    kpi_gaps = qualify("kpi", "gaps", d)
    with transaction(warehouse_url) as conn:
        conn.execute(text(f"DROP TABLE {kpi_gaps}"))  # something the set-up would recreate
    ensure_schema(reg, warehouse_url)
    with engine(warehouse_url).connect() as conn:
        assert not _exists(conn, kpi_gaps)  # skipped: nothing was expected to change
    with transaction(warehouse_url) as conn:
        conn.execute(text(f"DELETE FROM {state}"))
    ensure_schema(reg, warehouse_url)
    with engine(warehouse_url).connect() as conn:
        assert _exists(conn, kpi_gaps)
    changed = tmp_path / "departments.yaml"
    shutil.copy(reg.path, changed)
    changed.write_text(changed.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert fingerprint(str(changed)) != fingerprint(str(reg.path))


def _exists(conn: object, table: str) -> bool:
    from sqlalchemy.exc import DBAPIError

    try:
        with conn.begin_nested():  # type: ignore[attr-defined]
            conn.execute(text(f"SELECT 1 FROM {table} LIMIT 1"))  # type: ignore[attr-defined]
        return True
    except DBAPIError:
        return False


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


def test_energy_readings_get_a_per_meter_index_unless_their_key_is_one(warehouse_url: str, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Energy coverage probes readings by (meter_id, event time): that lookup must be an index."""
    import yaml
    from sqlalchemy import inspect

    reg = {"departments": {"heatco": {"name_zh": "供热", "name_en": "heat", "provider": "p", "energy_utility": "heat",
                                      "resources": {"readings": {
        "code": "H-1", "name_zh": "读数", "name_en": "readings", "update_cycle": "实时", "interval_minutes": 15,
        "sharing_type": "无条件共享", "event_time": "read_at", "primary_key": ["reading_id"], "role": "energy_readings",
        "fields": [{"name": "reading_id", "type": "string", "required": True},
                   {"name": "meter_id", "type": "string"}, {"name": "read_at", "type": "timestamp"},
                   {"name": "read_method", "type": "string"}]}}}}}
    path = tmp_path / "reg" / "departments.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(reg, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("CITYDATA_REGISTRY", str(path))
    ensure_schema(load_registry(), warehouse_url)
    monkeypatch.delenv("CITYDATA_REGISTRY")
    ensure_schema(load_registry(), warehouse_url)  # the shipped registry: keys already (meter_id, reading_time)

    def indexed(table: str) -> list[list[str]]:
        with engine(warehouse_url).connect() as conn:
            pg = conn.dialect.name == "postgresql"
            found = inspect(conn).get_indexes(table, schema="core") if pg else inspect(conn).get_indexes(f"core__{table}")
        return [ix["column_names"] for ix in found]

    assert ["meter_id", "read_at"] in indexed("heatco__readings")
    assert not any(cols[:1] == ["meter_id"] for cols in indexed("water__meter_readings"))
