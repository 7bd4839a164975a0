"""Requests and approvals (供需对接) over real HTTP and the CLI, on both backends: request → owner
email → approval → API and PostgreSQL role open → revocation closes both; registry consumers are
pre-approved requests; due dates in working days."""

from __future__ import annotations

import datetime as dt
import json
from email import message_from_bytes, policy

import pytest
from sqlalchemy import text

from citydata.exchange.workdays import due_after
from citydata.warehouse.db import transaction
from tests.exchange.conftest import cli, load, token, visits


def _can_select(url: str, consumer: str, table: str = "share.clinic__visits") -> bool:
    with transaction(url) as conn:
        return bool(conn.execute(text("SELECT has_table_privilege(:r, :t, 'SELECT')"),
                                 {"r": f"share_consumer_{consumer}", "t": table}).scalar_one())


def _outbox(home) -> list:  # noqa: ANN001
    return [message_from_bytes(p.read_bytes(), policy=policy.default) for p in sorted((home / "outbox").glob("*.eml"))]


def test_request_approval_access_revocation(api, registry, warehouse_url: str, home) -> None:  # noqa: ANN001
    load(registry, "visits", visits(6), warehouse_url)
    police = token("police", warehouse_url)
    pg = warehouse_url.startswith("postgresql")
    rows = "/share/v1/resources/T-COND/rows"
    assert api.get(rows, police).status_code == 403
    if pg:
        assert not _can_select(warehouse_url, "police") and _can_select(warehouse_url, "insurer")
    r = api.post("/share/v1/requests", {"resource": "T-COND", "purpose": "交通事故调查", "legal_basis": "《道路交通安全法》",
                                        "fields": ["visit_time", "plate_no"]}, police)
    assert r.status_code == 201, r.text
    req = r.json()
    assert req["status"] == "submitted" and isinstance(req["id"], int)
    submitted = dt.datetime.fromisoformat(req["submitted_at"])
    assert dt.datetime.fromisoformat(req["review_due_at"]) == due_after(submitted, 2)
    assert dt.datetime.fromisoformat(req["answer_due_at"]) == due_after(due_after(submitted, 2), 5)
    # the provider's owners got an email in Chinese (outbox: no SMTP configured)
    [msg] = [m for m in _outbox(home) if m["X-Citydata-Kind"] == "exchange"]
    assert msg["To"] == "owner@clinic.cn" and "共享申请" in msg["Subject"] and str(req["id"]) in msg["Subject"]
    assert "交通事故调查" in msg.get_body(("plain",)).get_content()
    assert api.get(rows, police).status_code == 403  # still pending
    assert [x["id"] for x in api.get("/share/v1/requests", police).json()["requests"]] == [req["id"]]
    # review then approve through the CLI
    assert cli("access", "review", str(req["id"])).returncode == 0
    done = cli("access", "approve", str(req["id"]), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "approved"
    ok = api.get(rows, police)
    assert ok.status_code == 200 and ok.json()["count"] == 6
    assert set(ok.json()["rows"][0]) == {"visit_id", "visit_time", "plate_no", "_t_published", "_disputed"}
    if pg:
        assert _can_select(warehouse_url, "police") is False  # column grant only, not the whole table
        with transaction(warehouse_url) as conn:
            cols = set(conn.execute(text(
                "SELECT column_name FROM information_schema.column_privileges WHERE grantee = 'share_consumer_police' "
                "AND table_name = 'clinic__visits' AND privilege_type = 'SELECT'")).scalars())
        assert cols == {"visit_id", "visit_time", "plate_no", "_batch_id", "_t_published"}
    # a second approval state change is refused; re-running setup keeps the grant (one mechanism)
    assert cli("access", "approve", str(req["id"])).returncode == 1
    from citydata.share.setup import setup_sharing

    setup_sharing(warehouse_url)
    assert api.get(rows, police).status_code == 200
    if pg:
        assert _column_grants(warehouse_url, "police")
    # revocation closes the API and the role
    assert cli("access", "revoke", str(req["id"]), "--reason", "用途已完成").returncode == 0
    assert api.get(rows, police).status_code == 403
    if pg:
        assert not _column_grants(warehouse_url, "police")
    assert api.get(f"/share/v1/requests/{req['id']}", police).json()["status"] == "revoked"


def _column_grants(url: str, consumer: str) -> set[str]:
    with transaction(url) as conn:
        return set(conn.execute(text(
            "SELECT column_name FROM information_schema.column_privileges WHERE grantee = :g "
            "AND table_name = 'clinic__visits' AND privilege_type = 'SELECT'"), {"g": f"share_consumer_{consumer}"}
        ).scalars())


def test_registry_consumers_are_pre_approved_requests_and_can_be_revoked(api, registry, warehouse_url: str) -> None:  # noqa: ANN001
    load(registry, "visits", visits(2), warehouse_url)
    insurer = token("insurer", warehouse_url)
    listed = json.loads(cli("access", "list", "--consumer", "insurer", "--json").stdout)
    [pre] = listed
    assert (pre["source"], pre["status"], pre["code"]) == ("registry", "approved", "T-COND")
    assert api.get("/share/v1/resources/T-COND/rows", insurer).status_code == 200
    assert cli("access", "revoke", str(pre["request_id"])).returncode == 0
    assert api.get("/share/v1/resources/T-COND/rows", insurer).status_code == 403
    from citydata.bootstrap import ensure_schema

    ensure_schema(registry, warehouse_url)  # the seed does not bring a revoked registry approval back
    assert api.get("/share/v1/resources/T-COND/rows", insurer).status_code == 403
    if warehouse_url.startswith("postgresql"):
        assert not _can_select(warehouse_url, "insurer")


def test_rejection_needs_a_reason_and_closes_the_request(api, registry, warehouse_url: str) -> None:  # noqa: ANN001
    police = token("police", warehouse_url)
    req = api.post("/share/v1/requests", {"resource": "T-COND", "purpose": "核查"}, police).json()
    assert cli("access", "reject", str(req["id"])).returncode == 2  # --reason is required: bad usage
    r = cli("access", "reject", str(req["id"]), "--reason", "   ")
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "reason" in r.stderr
    assert cli("access", "reject", str(req["id"]), "--reason", "依据不足").returncode == 0
    assert cli("access", "approve", str(req["id"])).returncode == 1  # rejected is final
    assert api.get("/share/v1/resources/T-COND/rows", police).status_code == 403
    for body, status in (({"resource": "T-OPEN", "purpose": "x"}, 422), ({"resource": "T-SECRET", "purpose": "x"}, 422),
                         ({"resource": "NOPE", "purpose": "x"}, 404), ({"resource": "T-COND", "purpose": " "}, 422),
                         ({"resource": "T-COND", "purpose": "x", "fields": ["nope"]}, 422), ({"purpose": "x"}, 422)):
        assert api.post("/share/v1/requests", body, police).status_code == status, body


def test_overdue_requests_are_listed_and_alerted_once(registry, warehouse_url: str) -> None:  # noqa: ANN001
    from citydata.exchange import access, overdue

    old = dt.datetime(2026, 11, 6, 9, 0, tzinfo=dt.UTC)  # a Friday: review due end of Tuesday 10th (Shanghai)
    with transaction(warehouse_url) as conn:
        a = access.request_access(conn, registry, "police", "T-COND", "调查", now=old)
        b = access.request_access(conn, registry, "police", "T-COND", "调查", now=old)
        access.review(conn, b["request_id"], now=old + dt.timedelta(days=1))
        assert a["review_due_at"] == dt.datetime(2026, 11, 10, 16, 0, tzinfo=dt.UTC)
        late = access.overdue(conn, now=dt.datetime(2026, 11, 20, tzinfo=dt.UTC))
        early = access.overdue(conn, now=dt.datetime(2026, 11, 9, tzinfo=dt.UTC))
    assert [(r["request_id"], r["overdue_stage"]) for r in late] == [(a["request_id"], "review"),
                                                                    (b["request_id"], "answer")]
    assert early == []
    msgs = overdue.overdue_messages(registry, late, dt.datetime(2026, 11, 20, tzinfo=dt.UTC))
    assert [m["To"] for m in msgs] == ["ops@example.cn"] and "超期" in msgs[0]["Subject"]
    assert overdue.overdue_messages(registry, late, dt.datetime(2026, 11, 21, tzinfo=dt.UTC))[0]["X-Citydata-Key"] == \
        msgs[0]["X-Citydata-Key"]  # the same situation is one alert


@pytest.mark.parametrize("holiday", ["2026-11-09"])
def test_due_dates_skip_weekends_and_configured_holidays(holiday: str, monkeypatch: pytest.MonkeyPatch) -> None:
    friday = dt.datetime(2026, 11, 6, 2, 0, tzinfo=dt.UTC)
    assert due_after(friday, 2).date() == dt.date(2026, 11, 10)  # Mon, Tue → 24:00 Tue Shanghai = 16:00 UTC
    monkeypatch.setenv("CITYDATA_HOLIDAYS", holiday)
    assert due_after(friday, 2) == dt.datetime(2026, 11, 11, 16, 0, tzinfo=dt.UTC)
    monkeypatch.setenv("CITYDATA_WORKDAYS", "2026-11-08")  # a make-up Sunday (调休)
    assert due_after(friday, 2) == dt.datetime(2026, 11, 10, 16, 0, tzinfo=dt.UTC)
