"""Registry names that are SQL keywords (issue 15, defect 7): quoted everywhere, on both backends;
names that cannot be used safely are refused by the registry with one line naming the field."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from citydata.config import settings
from citydata.errors import RegistryError
from citydata.ingest import tasks
from citydata.ingest.pipeline import ingest_department
from citydata.registry import load_registry
from scripts.reliability_report import record_outcome
from tests.helpers import fetch, local_text, recent

REPO = Path(__file__).resolve().parents[2]
T0 = recent()
FIELDS = [{"name": "order", "type": "string", "required": True}, {"name": "desc", "type": "string"},
          {"name": "user", "type": "string", "sensitive": "name"}, {"name": "select", "type": "timestamp"},
          {"name": "group", "type": "float"}, {"name": "limit", "type": "integer"}]


def registry(tmp_path: Path, fields: list[dict] = FIELDS, dept: str = "shop", res: str = "orders") -> Path:
    reg = {"departments": {dept: {"name_zh": "商务", "name_en": "Commerce", "provider": "p", "resources": {res: {
        "code": "SW-1", "name_zh": "订单", "name_en": "orders", "update_cycle": "实时", "interval_minutes": 15,
        "sharing_type": "无条件共享", "event_time": "select", "primary_key": ["order"], "fields": fields}}}}}
    path = tmp_path / "reg" / "departments.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(reg, allow_unicode=True), encoding="utf-8")
    return path


def deliver(name: str, rows: list[tuple]) -> None:
    path = settings().landing_dir / "shop" / "orders" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["order,desc,user,select,group,limit"] + [",".join(str(v) for v in r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_keyword_field_names_load_audit_and_publish(warehouse_url: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    row = {"name": f"keyword_fields[{warehouse_url.split(':')[0]}]", "rows_lost": None, "ok": False,
           "injected": "registry fields named order, desc, user, select, group, limit (primary key and event time)",
           "outcome": "test did not finish"}
    monkeypatch.setenv("CITYDATA_REGISTRY", str(registry(tmp_path)))
    monkeypatch.setenv("CITYDATA_STABLE_SECONDS", "0")
    t = local_text(T0)
    deliver("a.csv", [("A1", "first", "张三丰", t, 1.5, 3), ("A2", "second", "李四", t, 2.5, 4)])
    [rec] = ingest_department("shop")
    assert (rec.status, rec.rows_loaded) == ("loaded", 2), rec
    later = local_text(T0 + dt.timedelta(minutes=5))
    deliver("b.csv", [("A1", "changed", "张三丰", later, 9.5, 3), ("A2", "second", "李四", t, 2.5, 4)])
    [rec] = ingest_department("shop")
    assert (rec.rows_loaded, rec.rows_duplicate) == (1, 1), rec  # the upsert compares every keyword column
    core = fetch('SELECT "order", "desc", "group" FROM core.shop__orders ORDER BY "order"')
    assert core == [{"order": "A1", "desc": "changed", "group": 9.5}, {"order": "A2", "desc": "second", "group": 2.5}]
    assert tasks.publish_after_ingest("shop", "orders") == 2  # the current version of each row
    shared = fetch('SELECT "order", "user" FROM share.shop__orders ORDER BY "order"')
    assert shared == [{"order": "A1", "user": "张**"}, {"order": "A2", "user": "李*"}]
    r = subprocess.run([sys.executable, "-m", "citydata.app.cli", "audit", "--department", "shop", "--json"], cwd=REPO,
                       capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert r.returncode == 0, r.stderr
    assert [a["rows_loaded"] for a in json.loads(r.stdout)] == [2, 1]
    row.update(ok=True, rows_lost=0, outcome="loaded, upserted, published (masked) and audited through the CLI")
    record_outcome("leaks", row["name"], row)


@pytest.mark.parametrize(("fields", "dept", "res", "expected"), [
    ([{"name": "a" * 42, "type": "string"}], "shop", "orders", "not a valid identifier"),
    ([{"name": "_batch_id", "type": "string"}], "shop", "orders", "not a valid identifier"),
    ([{"name": "名字", "type": "string"}], "shop", "orders", "not a valid identifier"),
    ([{"name": "order", "type": "string"}], "s" * 31, "o" * 31, "be longer than 63 bytes"),
])
def test_unusable_names_are_refused_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fields: list,
                                                  dept: str, res: str, expected: str) -> None:
    fields = [{"name": "order", "type": "string", "required": True}, {"name": "select", "type": "timestamp"},
              *[f for f in fields if f["name"] != "order"]]
    monkeypatch.setenv("CITYDATA_REGISTRY", str(registry(tmp_path, fields, dept, res)))
    with pytest.raises(RegistryError) as err:
        load_registry()
    msg = str(err.value)
    assert expected in msg and "\n" not in msg and dept in msg, msg
