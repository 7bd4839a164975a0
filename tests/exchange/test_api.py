"""The sharing API over real HTTP (uvicorn on a free port) on both backends: the 401/403 matrix,
masking in every format, the access log (refused calls included, append-only), the catalogue."""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from sqlalchemy import text

from citydata.domain.masking import mask_record
from citydata.exchange.common import find_resource
from citydata.warehouse.db import engine, qualify, transaction
from tests.exchange.conftest import load, token, visits

SENSITIVE = ("citizen_id", "patient_name", "phone", "plate_no", "home_address", "note")


def _rows(resp, fmt: str) -> list[dict]:  # noqa: ANN001
    if fmt == "json":
        return resp.json()["rows"]
    if fmt == "csv":
        return pacsv.read_csv(io.BytesIO(resp.content)).to_pylist()
    return pq.read_table(io.BytesIO(resp.content)).to_pylist()


def _log(url: str) -> list[dict]:
    with engine(url).connect() as conn:
        return [dict(r) for r in conn.execute(text(
            f"SELECT * FROM {qualify('audit', 'access_log', conn.dialect.name)} ORDER BY log_id")).mappings()]


def test_401_403_matrix(api, registry, warehouse_url: str) -> None:  # noqa: ANN001
    for name in ("open_visits", "visits", "secret_visits"):
        load(registry, name, visits(3), warehouse_url)
    insurer, police = token("insurer", warehouse_url), token("police", warehouse_url)
    revoked = token("gone", warehouse_url)
    from citydata.exchange.tokens import revoke_consumer

    with transaction(warehouse_url) as conn:
        revoke_consumer(conn, "gone")
    paths = ["/share/v1/catalog", "/share/v1/resources/T-OPEN/rows", "/share/v1/requests", "/share/v1/objections"]
    for path in paths:
        for bad in (None, "wrong-token", revoked, insurer[:-1]):
            r = api.get(path, bad)
            assert r.status_code == 401, (path, bad)
            assert r.headers["www-authenticate"] == "Bearer" and r.json()["error"] == "unauthorized"
    assert api.post("/share/v1/requests", {"resource": "T-COND", "purpose": "x"}).status_code == 401
    assert api.client.get("/share/v1/catalog", headers={"Authorization": f"Basic {insurer}"}).status_code == 401
    matrix = {("T-OPEN", "insurer"): 200, ("T-OPEN", "police"): 200,
              ("T-COND", "insurer"): 200,  # pre-approved by the registry's consumers: list
              ("T-COND", "police"): 403, ("T-SECRET", "insurer"): 403, ("T-SECRET", "police"): 403}
    for (code, who), status in matrix.items():
        for fmt in ("json", "csv", "parquet"):
            r = api.get(f"/share/v1/resources/{code}/rows", insurer if who == "insurer" else police, format=fmt)
            assert r.status_code == status, (code, who, fmt)
            if status == 403:
                assert r.json()["error"] == ("not_shared" if code == "T-SECRET" else "needs_approval")
                assert "不予共享" in r.json()["message"] or "共享申请" in r.json()["message"]
            else:
                assert len(_rows(r, fmt)) == 3 and r.headers["x-row-count"] == "3"
    assert api.get("/share/v1/resources/NOPE/rows", insurer).status_code == 404
    assert api.get("/share/v1/resources/T-OPEN/rows", insurer, after="garbage!").status_code == 400
    other = api.get("/share/v1/resources/T-READ/rows", insurer).json()["next"]
    assert api.get("/share/v1/resources/T-OPEN/rows", insurer, after=other).status_code == 400
    assert api.get("/share/v1/resources/T-OPEN/rows", insurer, limit=0).status_code == 422
    assert api.get("/share/v1/resources/T-OPEN/rows", insurer, format="xml").status_code == 422
    cat = {e["code"]: e for e in api.get("/share/v1/catalog", police).json()["resources"]}
    assert {c: e["may_read"] for c, e in cat.items()} == {"T-OPEN": True, "T-COND": False, "T-SECRET": False,
                                                         "T-READ": True}


@pytest.mark.parametrize("fmt", ["json", "csv", "parquet"])
def test_every_sensitive_field_is_masked_in_every_format(api, registry, warehouse_url: str, fmt: str) -> None:  # noqa: ANN001
    raw = visits(40, seed=7)
    load(registry, "visits", raw, warehouse_url)
    insurer = token("insurer", warehouse_url)
    r = api.get("/share/v1/resources/T-COND/rows", insurer, format=fmt, limit=100)
    assert r.status_code == 200
    got = {row["visit_id"]: row for row in _rows(r, fmt)}
    assert len(got) == 40
    resource = find_resource(registry, "T-COND")
    body = r.content.decode("utf-8", errors="replace") if fmt != "parquet" else ""
    for row in raw:
        masked = mask_record(row, resource)
        for field in SENSITIVE:
            assert got[row["visit_id"]][field] == masked[field], field
            assert got[row["visit_id"]][field] != row[field]
            if body:
                assert row[field] not in body, field
    if fmt == "parquet":  # raw bytes of an uncompressed re-write would show any raw value: check the values
        table = pq.read_table(io.BytesIO(r.content))
        values = {str(v) for col in SENSITIVE for v in table.column(col).to_pylist()}
        assert not values & {row[f] for row in raw for f in SENSITIVE}
        assert table.schema.field("visit_time").type == pa.timestamp("us", tz="UTC")


def test_access_log_has_every_call_and_is_append_only(api, registry, warehouse_url: str) -> None:  # noqa: ANN001
    load(registry, "open_visits", visits(5), warehouse_url)
    insurer, police = token("insurer", warehouse_url), token("police", warehouse_url)
    calls = [
        (None, "/share/v1/resources/T-OPEN/rows", {}, 401, None, 0),
        ("bad", "/share/v1/catalog", {}, 401, None, 0),
        (police, "/share/v1/resources/T-SECRET/rows", {}, 403, "police", 0),
        (police, "/share/v1/resources/T-COND/rows", {}, 403, "police", 0),
        (insurer, "/share/v1/resources/T-OPEN/rows", {"limit": 2}, 200, "insurer", 2),
        (insurer, "/share/v1/resources/T-OPEN/rows", {"limit": 10, "format": "csv"}, 200, "insurer", 5),
        (insurer, "/share/v1/resources/T-OPEN/rows", {"format": "parquet"}, 200, "insurer", 5),
        (insurer, "/share/v1/catalog", {"format": "jsonld"}, 200, "insurer", 0),
        (insurer, "/share/v1/resources/NOPE/rows", {}, 404, "insurer", 0),
    ]
    first = None
    for tok, path, params, status, _, _ in calls:
        r = api.get(path, tok, **params)
        assert r.status_code == status, path
        if first is None and status == 200 and "rows" in path:
            first = r.json()["next"]
    assert api.get("/share/v1/resources/T-OPEN/rows", insurer, after=first).status_code == 200
    log = _log(warehouse_url)
    assert len(log) == len(calls) + 1
    for entry, (_, path, _, status, consumer, n) in zip(log, calls, strict=False):
        assert (entry["path"], entry["status"], entry["consumer"], entry["rows_returned"]) == (path, status, consumer, n)
        assert entry["client_addr"] == "127.0.0.1" and entry["t_request"] is not None
    assert log[2]["resource"] == "T-SECRET" and log[2]["detail"] == "not_shared"
    assert log[-1]["cursor"] == first and log[-1]["rows_returned"] == 3
    # append-only for the owner too (trigger), on both backends
    for stmt in ("UPDATE {t} SET status = 200", "DELETE FROM {t}"):
        with pytest.raises(Exception, match="append-only"):
            with transaction(warehouse_url) as conn:
                conn.execute(text(stmt.format(t=qualify("audit", "access_log", conn.dialect.name))))
    assert len(_log(warehouse_url)) == len(calls) + 1


@pytest.mark.pg
@pytest.mark.parametrize("warehouse_url", ["postgresql"], indirect=True)  # roles are a PostgreSQL feature
def test_access_log_refuses_change_to_every_role_on_postgresql(api, registry, warehouse_url: str) -> None:  # noqa: ANN001
    api.get("/share/v1/catalog", None)
    with transaction(warehouse_url) as conn:
        with pytest.raises(Exception, match="append-only"):
            with conn.begin_nested():
                conn.execute(text("TRUNCATE audit.access_log"))
        grants = conn.execute(text(
            "SELECT grantee, privilege_type FROM information_schema.role_table_grants "
            "WHERE table_schema = 'audit' AND table_name = 'access_log' AND grantee <> current_user")).all()
    assert not [g for g in grants if g[1] in ("UPDATE", "DELETE", "TRUNCATE")]


def test_catalog_describes_fields_never_values_and_speaks_dcat(api, registry, warehouse_url: str) -> None:  # noqa: ANN001
    raw = visits(4)
    load(registry, "open_visits", raw, warehouse_url)
    insurer = token("insurer", warehouse_url)
    r = api.get("/share/v1/catalog", insurer)
    entry = {e["code"]: e for e in r.json()["resources"]}["T-OPEN"]
    assert entry["rows_available"] == 4 and entry["last_landed"] and entry["quality"]["quarantined_share"] == 0
    assert {f["name"]: f["sensitive"] for f in entry["fields"]}["citizen_id"] is True
    assert entry["sharing_type"] == "无条件共享" and entry["provider"] == "县卫健局"
    assert not any(row["citizen_id"] in r.text or row["patient_name"] in r.text for row in raw)
    secret = {e["code"]: e for e in r.json()["resources"]}["T-SECRET"]
    assert secret["rows_available"] is None and secret["may_read"] is False
    ld = api.get("/share/v1/catalog", insurer, format="jsonld")
    assert ld.headers["content-type"].startswith("application/ld+json")
    doc = ld.json()
    assert doc["@type"] == "dcat:Catalog" and doc["@context"]["dcat"] == "http://www.w3.org/ns/dcat#"
    ds = {d["dct:identifier"]: d for d in doc["dcat:dataset"]}
    assert ds["T-OPEN"]["dct:accrualPeriodicity"]["@id"].endswith("/CONT")
    assert {d["dct:format"] for d in ds["T-OPEN"]["dcat:distribution"]} == {"json", "csv", "parquet"}
    assert "dcat:distribution" not in ds["T-SECRET"]
    assert json.dumps(doc, ensure_ascii=False).count("T-") >= 4
