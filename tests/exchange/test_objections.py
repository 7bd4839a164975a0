"""Objections (异议处理) over real HTTP on both backends: the row is marked disputed in every format,
the owners get an email, a correcting re-delivery closes it, or the owner rejects it with a reason."""

from __future__ import annotations

import io
import json
from email import message_from_bytes, policy

import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tests.exchange.conftest import cli, load, token, visits


def _disputed(api, tok: str, fmt: str = "json") -> dict[str, bool]:  # noqa: ANN001
    r = api.get("/share/v1/resources/T-COND/rows", tok, format=fmt)
    assert r.status_code == 200
    if fmt == "json":
        rows = r.json()["rows"]
    elif fmt == "csv":
        rows = pacsv.read_csv(io.BytesIO(r.content)).to_pylist()
    else:
        rows = pq.read_table(io.BytesIO(r.content)).to_pylist()
    return {row["visit_id"]: row["_disputed"] for row in rows}


def test_objection_marks_rows_then_a_correction_closes_it(api, registry, warehouse_url: str, home) -> None:  # noqa: ANN001
    raw = visits(4)
    load(registry, "visits", raw, warehouse_url)
    insurer = token("insurer", warehouse_url)
    r = api.post("/share/v1/objections", {"resource": "T-COND", "row_key": {"visit_id": "V00001"}, "field": "fee",
                                          "reason": "收费金额与结算单不符"}, insurer)
    assert r.status_code == 201, r.text
    obj = r.json()
    assert obj["status"] == "open" and obj["row_key"] == ["V00001"]
    for fmt in ("json", "csv", "parquet"):
        assert _disputed(api, insurer, fmt) == {"V00000": False, "V00001": True, "V00002": False, "V00003": False}
    mails = [message_from_bytes(p.read_bytes(), policy=policy.default) for p in (home / "outbox").glob("*.eml")]
    [msg] = [m for m in mails if "异议" in m["Subject"]]
    body = msg.get_body(("plain",)).get_content()
    assert msg["To"] == "owner@clinic.cn" and "visit_id=V00001" in body and "收费金额与结算单不符" in body
    assert str(raw[1]["fee"]) not in body and raw[1]["citizen_id"] not in body  # values are never quoted
    # a re-delivery that leaves the disputed value alone does not close it
    changed = [{**raw[1], "phone": "13900000000"}]
    load(registry, "visits", changed, warehouse_url)
    assert json.loads(cli("objection", "list", "--json").stdout)[0]["status"] == "open"
    # the owner accepts; the correction (a changed fee) closes it
    assert cli("objection", "resolve", str(obj["id"]), "--accept", "--reason", "核实有误").returncode == 0
    assert _disputed(api, insurer)["V00001"] is True
    load(registry, "visits", [{**changed[0], "fee": 1.5}], warehouse_url)
    [closed] = json.loads(cli("objection", "list", "--consumer", "insurer", "--json").stdout)
    assert closed["status"] == "corrected" and closed["closed_by_batch"] and closed["resolved_at"]
    assert not any(_disputed(api, insurer).values())
    assert api.get("/share/v1/objections", insurer).json()["objections"][0]["status"] == "corrected"


def test_owner_rejects_with_a_reason_and_bad_objections_are_refused(api, registry, warehouse_url: str) -> None:  # noqa: ANN001
    load(registry, "visits", visits(2), warehouse_url)
    load(registry, "secret_visits", visits(2), warehouse_url)
    insurer, police = token("insurer", warehouse_url), token("police", warehouse_url)
    made = cli("objection", "raise", "--consumer", "insurer", "--resource", "T-COND", "--key", "visit_id=V00000",
               "--field", "visit_time", "--reason", "就诊时间错误", "--json")
    assert made.returncode == 0, made.stderr
    oid = json.loads(made.stdout)["objection_id"]
    r = cli("objection", "resolve", str(oid), "--reject")
    assert r.returncode == 1 and "reason" in r.stderr and r.stderr.count("\n") == 1
    assert cli("objection", "resolve", str(oid)).returncode == 2  # --accept or --reject: bad usage
    assert cli("objection", "resolve", str(oid), "--reject", "--reason", "与医院系统一致").returncode == 0
    assert json.loads(cli("objection", "list", "--json").stdout)[0]["status"] == "rejected"
    assert cli("objection", "resolve", str(oid), "--reject", "--reason", "again").returncode == 1
    assert not any(_disputed(api, insurer).values())
    bad = [({"resource": "T-COND", "row_key": {"visit_id": "V00000"}, "field": "fee", "reason": "x"}, police, 422),
           ({"resource": "T-SECRET", "row_key": {"visit_id": "V00000"}, "field": "fee", "reason": "x"}, insurer, 422),
           ({"resource": "T-COND", "row_key": {"visit_id": "NOPE"}, "field": "fee", "reason": "x"}, insurer, 404),
           ({"resource": "T-COND", "row_key": {}, "field": "fee", "reason": "x"}, insurer, 422),
           ({"resource": "T-COND", "row_key": {"visit_id": "V00000"}, "field": "nope", "reason": "x"}, insurer, 422),
           ({"resource": "T-COND", "row_key": {"visit_id": "V00000"}, "field": "fee", "reason": ""}, insurer, 422)]
    for body, tok, status in bad:
        assert api.post("/share/v1/objections", body, tok).status_code == status, body


def test_objection_on_a_composite_key_with_a_timestamp(api, registry, warehouse_url: str) -> None:  # noqa: ANN001
    rows = [{"meter_id": "M1", "reading_time": "2026-11-10T08:00:00+08:00", "reading_m3": 1.0, "ok": True,
             "read_on": "2026-11-10"},
            {"meter_id": "M1", "reading_time": "2026-11-10T08:15:00+08:00", "reading_m3": 2.0, "ok": False,
             "read_on": "2026-11-10"}]
    load(registry, "readings", rows, warehouse_url)
    tok = token("police", warehouse_url)
    got = api.get("/share/v1/resources/T-READ/rows", tok).json()["rows"]
    key = {"meter_id": got[1]["meter_id"], "reading_time": got[1]["reading_time"]}  # as the API returned it
    assert api.post("/share/v1/objections", {"resource": "T-READ", "row_key": key, "field": "reading_m3",
                                             "reason": "读数倒退"}, tok).status_code == 201
    flags = [r["_disputed"] for r in api.get("/share/v1/resources/T-READ/rows", tok).json()["rows"]]
    assert flags == [False, True]
    load(registry, "readings", [{**rows[1], "reading_m3": 2.5}], warehouse_url)
    assert json.loads(cli("objection", "list", "--json").stdout)[0]["status"] == "corrected"
