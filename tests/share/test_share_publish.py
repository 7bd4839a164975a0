"""Sharing layer: masking on publication, idempotent publishing, sharing types, Parquet export,
and (PostgreSQL) the roles: a share_reader connection cannot read core or raw health tables."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from sqlalchemy import text

from citydata.ingest.pipeline import load_batches
from citydata.kpi.compute import ready
from citydata.registry import load_registry
from citydata.share.publish import publish_all, publish_resource
from citydata.warehouse.db import engine, qualify, transaction

FIELDS = [
    {"name": "visit_id", "type": "string", "required": True},
    {"name": "citizen_id", "type": "string", "sensitive": "idcard"},
    {"name": "patient_name", "type": "string", "sensitive": "name"},
    {"name": "phone", "type": "string", "sensitive": "phone"},
    {"name": "plate_no", "type": "string", "sensitive": "plate"},
    {"name": "home_address", "type": "string", "sensitive": "address"},
    {"name": "note", "type": "string", "sensitive": "redact"},
    {"name": "visit_time", "type": "timestamp", "required": True},
]
ROW = {"visit_id": "V1", "citizen_id": "37132119900101123X", "patient_name": "张三", "phone": "13812341234",
       "plate_no": "鲁Q12345", "home_address": "沂南县界湖街道幸福路8号", "note": "secret",
       "visit_time": "2026-11-10T01:00:00+08:00"}
MASKED = {"citizen_id": "371321********123X", "patient_name": "张*", "phone": "138****1234", "plate_no": "鲁Q***45",
          "home_address": "界湖街道***", "note": "***"}


def _resource(sharing: str, consumers: list[str] | None = None) -> dict:
    r = {"code": "T-1", "name_zh": "就诊", "name_en": "visits", "update_cycle": "实时", "interval_minutes": 60,
         "sharing_type": sharing, "event_time": "visit_time", "primary_key": ["visit_id"], "fields": FIELDS}
    if consumers:
        r["consumers"] = consumers
    return r


@pytest.fixture
def registry(warehouse_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    reg = {"consumers": {"insurer": {"name_zh": "医保", "name_en": "insurer"}},
           "departments": {"clinic": {"name_zh": "诊所", "name_en": "Clinic", "provider": "测试", "resources": {
               "open_visits": _resource("无条件共享"),
               "visits": _resource("有条件共享", ["insurer"]),
               "secret_visits": _resource("不予共享")}}}}
    path = tmp_path / "reg" / "departments.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(reg, allow_unicode=True, sort_keys=False), encoding="utf-8")
    monkeypatch.setenv("CITYDATA_REGISTRY", str(path))
    registry = load_registry()
    ready(registry, warehouse_url)
    for name in ("open_visits", "visits", "secret_visits"):
        with transaction(warehouse_url) as conn:
            load_batches(conn, registry.resource("clinic", name), [pa.RecordBatch.from_pylist([ROW])],
                         source_kind="test", source="test")
    return registry


def _one(sql: str) -> dict:
    with engine().connect() as conn:
        d = conn.dialect.name
        return dict(conn.execute(text(sql.format(share=qualify("share", "clinic__visits", d),
                                                 core=qualify("core", "clinic__visits", d),
                                                 log=qualify("audit", "publish_log", d)))).mappings().one())


def test_every_sensitive_field_is_masked_on_publication(registry, warehouse_url: str, home: Path) -> None:  # noqa: ANN001
    pubs = publish_all(registry, warehouse_url)
    assert sorted((p.resource, p.rows_published) for p in pubs) == [("open_visits", 1), ("visits", 1)]
    shared = _one("SELECT * FROM {share}")
    for column, masked in MASKED.items():
        assert shared[column] == masked, column
    assert shared["visit_id"] == "V1" and shared["_batch_id"] == pubs[1].batch_id
    core = _one("SELECT * FROM {core}")
    assert core["citizen_id"] == ROW["citizen_id"] and core["patient_name"] == "张三"  # restricted layer keeps them
    # Parquet: conditional data goes to a per-consumer folder, partitioned by Shanghai date; masked too.
    files = sorted((home / "share" / "parquet").rglob("*.parquet"))
    rel = [str(f.relative_to(home / "share" / "parquet")) for f in files]
    assert rel == [f"clinic__open_visits/date=2026-11-10/batch-{pubs[0].batch_id}.parquet",
                   f"clinic__visits/consumer=insurer/date=2026-11-10/batch-{pubs[1].batch_id}.parquet"]
    table = pq.read_table(files[1]).to_pylist()
    assert [{k: table[0][k] for k in MASKED}] == [MASKED]
    assert table[0]["visit_time"] == dt.datetime(2026, 11, 9, 17, 0, tzinfo=dt.UTC)
    assert "37132119900101123X" not in files[1].read_bytes().decode("latin-1")


def test_publish_is_idempotent_and_not_shared_is_never_published(registry, warehouse_url: str) -> None:  # noqa: ANN001
    first = publish_all(registry, warehouse_url)
    assert publish_all(registry, warehouse_url) == []
    assert publish_resource(registry.resource("clinic", "secret_visits"), warehouse_url) == []
    log = _one("SELECT COUNT(*) AS n, MIN(t_published) AS t FROM {log}")
    assert log["n"] == 2 == len(first)
    with engine().connect() as conn:
        d = conn.dialect.name
        names = conn.execute(text(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'share'" if d == "postgresql"
            else "SELECT name AS table_name FROM sqlite_master WHERE type = 'table' AND name LIKE 'share__%'")).scalars()
        assert sorted(n.removeprefix("share__") for n in names) == ["clinic__open_visits", "clinic__visits"]
        audience = dict(conn.execute(text(f"SELECT resource, audience FROM {qualify('audit', 'publish_log', d)}")).all())
    assert audience == {"open_visits": "share_reader", "visits": "share_consumer_insurer"}
    # t_published is the commit of the publication: after the load's t_landed.
    with engine().connect() as conn:
        d = conn.dialect.name
        rows = conn.execute(text(
            f"SELECT l.t_landed, p.t_published FROM {qualify('audit', 'publish_log', d)} p "
            f"JOIN {qualify('audit', 'ingest_log', d)} l ON l.batch_id = p.batch_id")).all()
    for landed, published in rows:
        assert str(published) >= str(landed) if d == "sqlite" else published >= landed


def test_update_of_a_row_is_republished_with_its_new_batch(registry, warehouse_url: str) -> None:  # noqa: ANN001
    publish_all(registry, warehouse_url)
    changed = {**ROW, "patient_name": "欧阳修"}
    with transaction(warehouse_url) as conn:
        load, _ = load_batches(conn, registry.resource("clinic", "visits"), [pa.RecordBatch.from_pylist([changed])],
                               source_kind="test", source="test")
    [pub] = publish_resource(registry.resource("clinic", "visits"), warehouse_url)
    shared = _one("SELECT * FROM {share}")
    assert (pub.batch_id, shared["_batch_id"], shared["patient_name"]) == (load.batch_id, load.batch_id, "欧阳*")


def test_ingest_task_publishes_right_after_the_load(home: Path, warehouse_url: str) -> None:
    """citydata.ingest.tasks.ingest_path (what the ingest DAG calls) publishes the landed batch."""
    from citydata.config import settings
    from citydata.ingest import tasks
    from tests.helpers import drop

    registry = load_registry()
    res = registry.resource("parking", "lots")
    row = {"lot_id": "TC010001", "name": "界湖停车场", "district": "界湖街道", "capacity": 100, "lot_type": "garage",
           "longitude": 118.46, "latitude": 35.55, "updated_at": "2026-11-10 08:00:00"}
    path = drop("parking", "lots", "lots.csv", [row], [f.name for f in res.fields])
    record = tasks.ingest_path("parking", str(path.relative_to(settings().landing_dir)))
    assert record["status"] == "loaded" and record["published"] == 1
    with engine().connect() as conn:
        d = conn.dialect.name
        assert conn.execute(text(f"SELECT lot_id FROM {qualify('share', 'parking__lots', d)}")).scalar_one() == "TC010001"


@pytest.mark.pg
def test_share_reader_cannot_read_core_or_raw_health(pg_url: str, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import psycopg

    monkeypatch.setenv("CITYDATA_WAREHOUSE_URL", pg_url)
    registry = load_registry()
    ready(registry, pg_url)
    with transaction(pg_url) as conn:  # a raw health table, as a database pull would stage it
        conn.execute(text("CREATE TABLE IF NOT EXISTS raw.health__card_visits (visit_id TEXT, citizen_id TEXT)"))
        conn.execute(text("INSERT INTO raw.health__card_visits VALUES ('V1', '37132119900101123X')"))
    from citydata.app.cli import main

    assert main(["setup-roles"]) == 0  # idempotent: ensure_schema already applied them
    reader, consumer = f"cdt_reader_{uuid.uuid4().hex[:8]}", f"cdt_mi_{uuid.uuid4().hex[:8]}"
    admin = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f"CREATE ROLE {reader} LOGIN IN ROLE share_reader")
        c.execute(f"CREATE ROLE {consumer} LOGIN IN ROLE share_consumer_medical_insurance")
    try:
        as_reader = admin.replace("postgres@", f"{reader}@")
        with psycopg.connect(as_reader, autocommit=True) as c:
            assert c.execute("SELECT COUNT(*) FROM share.parking__occupancy").fetchone() == (0,)  # 无条件共享
            for table in ("core.health__card_visits", "raw.health__card_visits", "share.health__card_visits",
                          "core.parking__occupancy", "audit.ingest_log"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    c.execute(f"SELECT * FROM {table}")
        with psycopg.connect(admin.replace("postgres@", f"{consumer}@"), autocommit=True) as c:
            assert c.execute("SELECT COUNT(*) FROM share.health__card_visits").fetchone() == (0,)  # its 有条件共享
            assert c.execute("SELECT COUNT(*) FROM share.parking__occupancy").fetchone() == (0,)
            for table in ("core.health__card_visits", "share.parking__sessions"):  # sessions: public_security only
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    c.execute(f"SELECT * FROM {table}")
    finally:
        from citydata.warehouse.db import dispose_engines

        dispose_engines()
        with psycopg.connect(admin, autocommit=True) as c:
            for role in (reader, consumer):
                c.execute(f"DROP OWNED BY {role}")
                c.execute(f"DROP ROLE IF EXISTS {role}")
