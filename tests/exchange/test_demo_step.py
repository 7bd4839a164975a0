"""The demo's last step on the real registry: 公安 reads parking sessions through the API, plates masked."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from citydata.exchange.demo_step import exchange_step
from citydata.ingest.pipeline import load_batches
from citydata.kpi.compute import ready
from citydata.mock.generators import sessions_rows
from citydata.registry import load_registry
from citydata.share.publish import publish_resource
from citydata.warehouse.db import transaction


def test_demo_step_reads_masked_rows_through_the_api(warehouse_url: str, capsys) -> None:  # noqa: ANN001
    registry = load_registry()
    ready(registry, warehouse_url)
    res = registry.resource("parking", "sessions")
    rows = sessions_rows(30, seed=3, now=dt.datetime.now(dt.UTC))
    with transaction(warehouse_url) as conn:
        load_batches(conn, res, [pa.RecordBatch.from_pylist(rows)], source_kind="test", source="test")
    publish_resource(res, warehouse_url)
    n = exchange_step(lambda m: print("==>", m))
    out = capsys.readouterr().out
    assert n == len({r["session_id"] for r in rows}) > 0
    assert "public_security" in out and "→" in out
    assert not any(r["plate_no"] in out for r in rows)
