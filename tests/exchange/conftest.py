"""Exchange fixtures: a small registry (one resource per sharing type), loads that publish, and a
real uvicorn server of the sharing API on a pre-bound free port, on both warehouse backends."""

from __future__ import annotations

import datetime as dt
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyarrow as pa
import pytest
import yaml

from citydata.ingest.pipeline import load_batches
from citydata.kpi.compute import ready
from citydata.registry import Registry, load_registry
from citydata.share.publish import publish_resource
from citydata.warehouse.db import transaction

REPO = Path(__file__).resolve().parents[2]
VISIT_FIELDS = [
    {"name": "visit_id", "type": "string", "required": True},
    {"name": "citizen_id", "type": "string", "sensitive": "idcard"},
    {"name": "patient_name", "type": "string", "sensitive": "name"},
    {"name": "phone", "type": "string", "sensitive": "phone"},
    {"name": "plate_no", "type": "string", "sensitive": "plate"},
    {"name": "home_address", "type": "string", "sensitive": "address"},
    {"name": "note", "type": "string", "sensitive": "redact"},
    {"name": "fee", "type": "float"},
    {"name": "visit_time", "type": "timestamp", "required": True},
]
READING_FIELDS = [
    {"name": "meter_id", "type": "string", "required": True, "name_zh": "水表编号"},
    {"name": "reading_time", "type": "timestamp", "required": True, "name_zh": "读数时间"},
    {"name": "reading_m3", "type": "float", "required": True, "name_zh": "读数"},
    {"name": "ok", "type": "boolean"},
    {"name": "read_on", "type": "date"},
]
BASE = dt.datetime(2026, 11, 10, 1, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def _resource(code: str, sharing: str, fields: list[dict], pk: list[str], event: str,
              consumers: list[str] | None = None) -> dict:
    r = {"code": code, "name_zh": f"资源{code}", "name_en": f"resource {code}", "update_cycle": "实时",
         "interval_minutes": 60, "sharing_type": sharing, "sharing_method": "api", "event_time": event,
         "primary_key": pk, "fields": fields}
    if consumers:
        r["consumers"] = consumers
    return r


REGISTRY = {
    "alerts": {"engineers": ["ops@example.cn"]},
    "consumers": {"insurer": {"name_zh": "县医保局", "name_en": "insurer"},
                  "police": {"name_zh": "县公安局", "name_en": "police"}},
    "departments": {
        "clinic": {"name_zh": "诊所", "name_en": "Clinic", "provider": "县卫健局", "owner_emails": ["owner@clinic.cn"],
                   "resources": {
                       "open_visits": _resource("T-OPEN", "无条件共享", VISIT_FIELDS, ["visit_id"], "visit_time"),
                       "visits": _resource("T-COND", "有条件共享", VISIT_FIELDS, ["visit_id"], "visit_time",
                                           ["insurer"]),
                       "secret_visits": _resource("T-SECRET", "不予共享", VISIT_FIELDS, ["visit_id"], "visit_time"),
                       "readings": _resource("T-READ", "无条件共享", READING_FIELDS, ["meter_id", "reading_time"],
                                             "reading_time"),
                   }}},
}


@pytest.fixture
def registry(warehouse_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Registry:
    path = tmp_path / "reg" / "departments.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(REGISTRY, allow_unicode=True, sort_keys=False), encoding="utf-8")
    monkeypatch.setenv("CITYDATA_REGISTRY", str(path))
    monkeypatch.setenv("CITYDATA_EXPECTATIONS_DIR", str(tmp_path / "no-suites"))
    monkeypatch.delenv("AIRFLOW_CONN_SMTP_DEFAULT", raising=False)
    reg = load_registry()
    ready(reg, warehouse_url)
    return reg


def load(registry: Registry, name: str, rows: list[dict], url: str) -> int:
    """Load rows into core (as a delivery does) and publish them; returns the batch id."""
    res = registry.resource("clinic", name)
    with transaction(url) as conn:
        batch, _ = load_batches(conn, res, [pa.RecordBatch.from_pylist(rows)], source_kind="test", source="test")
    publish_resource(res, url)
    return batch.batch_id


def visits(n: int, seed: int = 1, start: int = 0) -> list[dict]:
    """Visits with realistic generated citizen IDs, names, phones and plates."""
    from citydata.mock.ids import make_citizen_id, make_phone, make_plate
    from citydata.mock.names import person_name

    rng = random.Random(seed)
    out = []
    for i in range(start, start + n):
        out.append({"visit_id": f"V{i:05d}", "citizen_id": make_citizen_id(rng, dt.date(1980, 1, 1) +
                                                                          dt.timedelta(days=rng.randrange(9000)),
                                                                          rng.random() < 0.5),
                    "patient_name": person_name(rng, rng.random() < 0.5), "phone": make_phone(rng),
                    "plate_no": make_plate(rng), "home_address": "沂南县界湖街道幸福路8号", "note": "诊断：秘密",
                    "fee": round(rng.random() * 100, 2), "visit_time": (BASE - dt.timedelta(minutes=i)).isoformat()})
    return out


class Api:
    def __init__(self, base: str) -> None:
        self.base = base
        self.client = httpx.Client(base_url=base, timeout=60)

    def get(self, path: str, token: str | None = None, **params: object) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.client.get(path, params={k: v for k, v in params.items() if v is not None}, headers=headers)

    def post(self, path: str, body: dict, token: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.client.post(path, json=body, headers=headers)


@pytest.fixture
def api(registry: Registry, warehouse_url: str) -> Iterator[Api]:
    """The sharing API under uvicorn on a free port (socket bound before serving)."""
    from citydata.asgi import serve_in_thread
    from citydata.exchange.api import create_app

    server = serve_in_thread(create_app(warehouse_url, registry))
    client = Api(server.url)
    yield client
    client.client.close()
    server.stop()


def token(consumer: str, url: str) -> str:
    from citydata.exchange.tokens import add_consumer

    with transaction(url) as conn:
        return add_consumer(conn, consumer, rotate=True)["token"]


def cli(*args: str) -> subprocess.CompletedProcess:
    """`citydata …` in a subprocess with this worktree first on the path (and the test's environment)."""
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "citydata.app.cli", *args], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=300)
