"""Quality emails and alerts against a real SMTP server (aiosmtpd on a free port).

Every test delivers through the Airflow-side sender the DAG task calls
(plugins/citydata_airflow/sender.py) with AIRFLOW_CONN_SMTP_DEFAULT pointing at the server,
and reads back what the server received, decoded as a mail client would.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text

from citydata.config import settings
from citydata.ingest.pipeline import ingest_department
from citydata.mock import generators
from citydata.mock.delivery import clean_rows
from citydata.registry import load_registry
from tests.helpers import Inbox, drop, fetch

REPO = Path(__file__).resolve().parents[2]

OWNERS = ["health-a@yinan-wjj.example.cn", "health-b@yinan-wjj.example.cn"]
ENGINEERS = ["ops1@yinan-bigdata.example.cn", "ops2@yinan-bigdata.example.cn"]


@pytest.fixture
def registry_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shipped registry with two health owners and no digest (tests opt in where they need it)."""
    raw = yaml.safe_load((REPO / "include" / "departments.yaml").read_text(encoding="utf-8"))
    raw["departments"]["health"]["owner_emails"] = OWNERS
    raw["departments"]["health"]["digest"] = False
    raw["alerts"] = {"engineers": ENGINEERS, "language": "zh-CN", "ingest_deadline_minutes": 30}
    path = tmp_path / "departments.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("CITYDATA_REGISTRY", str(path))
    monkeypatch.setenv("CITYDATA_EXPECTATIONS_DIR", str(REPO / "expectations"))  # the real suites
    monkeypatch.delenv("CITYDATA_ALERT_EMAILS", raising=False)
    return path


def visits(n: int, seed: int = 7) -> list[dict]:
    res = load_registry().resource("health", "card_visits")
    return generators.render(clean_rows(res, n, seed, dt.datetime.now(dt.UTC)), "csv")


def drop_visits_with_defects(name: str = "visits.csv") -> tuple[list[dict], list[dict]]:
    """12 valid visits, 3 of them broken (2 missing institution, 1 bad time): (all rows, broken rows)."""
    rows = visits(12)
    rows[2]["institution_id"] = ""
    rows[5]["institution_id"] = ""
    rows[9]["visit_time"] = "yesterday at noon"
    drop("health", "card_visits", name, rows)
    return rows, [rows[2], rows[5], rows[9]]


def notify(department: str, run_id: str) -> dict:
    from citydata_airflow.sender import notify_department

    return notify_department(department, run_id=run_id)


def decoded_parts(msg: EmailMessage) -> list[str]:
    out = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True) or b""
        out.append(payload.decode("utf-8-sig", errors="replace"))
    return out


def test_quality_email_to_each_owner_in_chinese_with_masked_rows_and_attachments(
    warehouse_url: str, registry_file: Path, inbox: Inbox
) -> None:
    _, broken = drop_visits_with_defects()
    [record] = ingest_department("health", run_id="manual__r1")
    assert record.status == "partial" and record.rows_quarantined == 3

    result = notify("health", "manual__r1")

    msgs = inbox.messages("quality")
    assert result["transport"] == "smtp" and result["sent"] == 2 and result["failed"] == 0
    assert sorted(r for _, rcpts, _ in inbox.received for r in rcpts) == sorted(OWNERS)
    assert sorted(str(m["To"]) for m in msgs) == sorted(OWNERS)
    for m in msgs:
        subject = str(m["Subject"])
        assert "【数据质量】卫健" in subject and "隔离 3 行" in subject and "拒收 0 个文件" in subject
        assert m["From"].addresses[0].addr_spec == "citydata@bigdata.example.cn"
        assert m["From"].addresses[0].display_name == "县大数据中心"
        plain = m.get_body(("plain",)).get_content()
        html = m.get_body(("html",)).get_content()
        for body in (plain, html):
            assert "电子健康卡就诊记录" in body and "修正建议" in body and "health/card_visits/visits.csv" in body
            assert "必填字段为空" in body  # advice for the missing institution
            assert "医疗机构编号（institution_id）" in body
        assert html.lstrip().startswith("<!DOCTYPE html>") and "<table" in html
        atts = {a.get_filename(): a for a in m.iter_attachments()}
        csv_text = atts["quarantine_health_card_visits.csv"].get_payload(decode=True).decode("utf-8-sig")
        lines = csv_text.strip().splitlines()
        assert lines[0].startswith("batch_id,source,row_number,failed_checks,visit_id,citizen_id,patient_name")
        assert len(lines) == 1 + 3
        for row in broken:
            masked_id = row["citizen_id"][:6] + "*" * 8 + row["citizen_id"][-4:]
            assert masked_id in csv_text
            assert row["patient_name"][0] + "*" in csv_text
            assert row["visit_id"] in csv_text  # the key is not personal: departments need it to find the row

    # No unmasked personal value anywhere: raw bytes, decoded bodies and attachments.
    texts = [p for m in msgs for p in decoded_parts(m)] + [b.decode("ascii") for b in inbox.raw()]
    for row in broken:
        for secret in filter(None, (row["citizen_id"], row["patient_name"], row["phone"])):
            assert not any(secret in t for t in texts), f"unmasked {secret!r} in the email"

    sent = fetch("SELECT recipient, status, attempts, transport FROM quality.notifications WHERE kind = 'quality'")
    assert sorted((r["recipient"], r["status"], r["attempts"], r["transport"]) for r in sent) == sorted(
        (o, "sent", 1, "smtp") for o in OWNERS)
    assert list(settings().reports_dir.glob("notifications/health/*/quality_health_*.html"))


def test_clean_run_sends_nothing(warehouse_url: str, registry_file: Path, inbox: Inbox,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYDATA_ALERT_EMAILS", "")  # no freshness alerts either: only owner mail counts here
    drop("health", "card_visits", "clean.csv", visits(10))
    [record] = ingest_department("health", run_id="manual__clean")
    assert record.status == "loaded" and record.rows_quarantined == 0

    result = notify("health", "manual__clean")

    assert result["sent"] == 0 and result["reports"] == []
    assert inbox.received == []
    assert fetch("SELECT COUNT(*) AS n FROM quality.notifications")[0]["n"] == 0


def test_retry_and_later_runs_never_send_a_duplicate(warehouse_url: str, registry_file: Path, inbox: Inbox) -> None:
    drop_visits_with_defects()
    ingest_department("health", run_id="manual__r1")
    notify("health", "manual__r1")
    first = len(inbox.received)
    assert len(inbox.messages("quality")) == 2

    notify("health", "manual__r1")  # what an Airflow retry of the task does
    notify("health", "manual__r2")  # the next run, with nothing new
    assert len(inbox.received) == first

    # A new problem delivery in a later run is a new report covering only the new batch.
    rows = visits(6, seed=99)
    rows[0]["visit_time"] = "not a time"
    drop("health", "card_visits", "late.csv", rows)
    ingest_department("health", run_id="manual__r3")
    notify("health", "manual__r3")
    quality = inbox.messages("quality")
    assert len(quality) == 4
    assert all("late.csv" in m.get_body(("plain",)).get_content() for m in quality[2:])
    assert all("card_visits/visits.csv" not in m.get_body(("plain",)).get_content() for m in quality[2:])


def test_smtp_down_then_up_delivers_exactly_once(warehouse_url: str, registry_file: Path, inbox: Inbox,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from citydata_airflow.sender import NotificationsPending

    monkeypatch.setenv("CITYDATA_ALERT_EMAILS", "")
    drop_visits_with_defects()
    ingest_department("health", run_id="manual__down")
    inbox.stop()

    with pytest.raises(NotificationsPending, match="2 email"):
        notify("health", "manual__down")  # the task fails → Airflow retries it
    with pytest.raises(NotificationsPending):
        notify("health", "manual__down")  # first retry: still down

    rows = fetch("SELECT status, attempts, last_error FROM quality.notifications")
    assert len(rows) == 2 and all(r["status"] == "pending" and r["attempts"] == 2 for r in rows)
    assert all("Connection" in r["last_error"] or "refused" in r["last_error"].lower() for r in rows)
    assert not settings().outbox_dir.exists()  # SMTP is configured: no silent fallback to the outbox
    assert list(settings().reports_dir.glob("notifications/health/*/*.eml"))  # the report is kept on disk

    inbox.start()
    result = notify("health", "manual__down")  # second retry: server back
    assert result["sent"] == 2
    notify("health", "manual__down")
    notify("health", "manual__next")
    assert sorted(str(m["To"]) for m in inbox.messages()) == sorted(OWNERS)
    rows = fetch("SELECT status, attempts, last_error FROM quality.notifications")
    assert all(r["status"] == "sent" and r["attempts"] == 3 and r["last_error"] is None for r in rows)


def test_a_refused_recipient_fails_once_and_does_not_block_the_others(
    warehouse_url: str, registry_file: Path, inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from citydata_airflow.sender import NotificationsPending

    monkeypatch.setenv("CITYDATA_ALERT_EMAILS", "")
    inbox.refuse.add(OWNERS[0])
    drop_visits_with_defects()
    ingest_department("health", run_id="manual__r")

    with pytest.raises(NotificationsPending, match="SMTPRecipientsRefused"):
        notify("health", "manual__r")  # visible as a failed task once
    assert [str(m["To"]) for m in inbox.messages()] == [OWNERS[1]]
    rows = {r["recipient"]: r for r in fetch("SELECT recipient, status, attempts, last_error FROM quality.notifications")}
    assert rows[OWNERS[0]]["status"] == "failed" and "550" in rows[OWNERS[0]]["last_error"]
    assert rows[OWNERS[1]]["status"] == "sent"
    assert notify("health", "manual__r")["failed"] == 0  # permanent: not retried forever


def test_rate_below_target_alerts_engineers_once(home: Path, registry_file: Path, inbox: Inbox) -> None:
    from citydata_airflow.sender import notify_rates

    rows = [
        {"department": "water", "period": "2026-11", "period_type": "month", "complete": True, "collection_rate": 1.0,
         "sharing_rate": 1.0, "target": 0.8, "collection_met": True, "sharing_met": True},
        {"department": "parking", "period": "2026-11", "period_type": "month", "complete": True, "collection_rate": 0.5,
         "sharing_rate": 0.9, "target": 0.8, "collection_met": False, "sharing_met": True},
        {"department": "county", "period": "2026-11", "period_type": "month", "complete": True, "collection_rate": 0.75,
         "sharing_rate": 0.85, "target": 0.8, "collection_met": False, "sharing_met": True},
    ]
    result = notify_rates(rows, run_id="scheduled__k1")

    msgs = inbox.messages("alert")
    assert result["sent"] == 2 and sorted(str(m["To"]) for m in msgs) == sorted(ENGINEERS)
    body = msgs[0].get_body(("plain",)).get_content()
    assert "【指标告警】2 项" in str(msgs[0]["Subject"])
    assert "智慧停车" in body and "全县" in body and "实时采集率" in body and "50.0%" in body and "75.0%" in body
    assert "供水" not in body  # met targets are not alerted

    notify_rates(rows, run_id="scheduled__k2")  # same situation, recomputed: no second alert
    assert len(inbox.received) == 2
    all_met = [dict(r, collection_met=True, sharing_met=True) for r in rows]
    assert notify_rates(all_met)["stored"] == 0
    in_progress = [dict(r, complete=False) for r in rows]  # a period not over yet is not judged
    assert notify_rates(in_progress)["stored"] == 0


def test_freshness_alert_for_a_stale_realtime_resource_once_per_episode(
    home: Path, registry_file: Path, inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from citydata_airflow.sender import deliver_pending

    from citydata.notify.service import prepare_department

    drop("health", "card_visits", "clean.csv", visits(5))
    ingest_department("health")
    now = dt.datetime.now(dt.UTC)
    assert prepare_department("health", now=now).reports == []  # just landed: fresh

    later = now + dt.timedelta(minutes=61)  # card_visits: 实时, every 60 min, no grace
    prepared = prepare_department("health", now=later)
    assert [k.split(":")[1] for k in prepared.reports] == ["fresh"]
    deliver_pending(department="health")
    msgs = inbox.messages("alert")
    assert sorted(str(m["To"]) for m in msgs) == sorted(ENGINEERS)
    assert "【时效告警】卫健：1 个实时数据资源超时未更新" == str(msgs[0]["Subject"])
    assert "card_visits" in msgs[0].get_body(("html",)).get_content()

    assert prepare_department("health", now=later + dt.timedelta(hours=2)).reports == []  # same episode


def test_late_ingest_run_deadline_callback_alerts_engineers(home: Path, registry_file: Path, inbox: Inbox) -> None:
    from citydata_airflow.deadline import ingest_deadline, ingest_run_late

    alert = ingest_deadline(30)
    assert alert.callback.path == "citydata_airflow.deadline.ingest_run_late"  # importable by the triggerer
    context = {"dag_run": {"dag_id": "ingest_water", "dag_run_id": "scheduled__2026-11-28T10:00:00+00:00"},
               "deadline": {"id": "x", "deadline_time": "2026-11-28T10:30:00+00:00"}}
    asyncio.run(ingest_run_late(minutes=30, context=dict(context)))
    asyncio.run(ingest_run_late(minutes=30, context=dict(context)))  # callback re-run: no duplicate

    msgs = inbox.messages("alert")
    assert len(msgs) == len(ENGINEERS)
    assert str(msgs[0]["Subject"]) == "【运行告警】ingest_water 运行超时未完成"
    assert "2026-11-28 18:30" in msgs[0].get_body(("plain",)).get_content()  # deadline shown in Beijing time


def test_ingest_dag_declares_notify_teardown_and_deadline(registry_file: Path, home: Path) -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags" / "ingest.py"))
    assert not bag.import_errors
    dag = bag.dags["ingest_health"]
    notify_task = dag.get_task("notify_owners")
    assert notify_task.is_teardown and notify_task.retries >= 2
    assert {"ingest_files", "pull_card_visits"} <= notify_task.upstream_task_ids
    [deadline] = dag.deadline
    assert deadline.interval == dt.timedelta(minutes=30)
    assert deadline.callback.path == "citydata_airflow.deadline.ingest_run_late"


def test_notifications_table_keys_are_unique(warehouse_url: str, registry_file: Path) -> None:
    """Storing the same composed report twice inserts nothing the second time (both backends)."""
    from citydata.bootstrap import ensure_schema
    from citydata.notify import outbox, quality
    from citydata.warehouse.db import transaction

    drop_visits_with_defects()
    ingest_department("health")
    ensure_schema(load_registry(), warehouse_url)
    with transaction(warehouse_url) as conn:
        report = quality.compose(conn, load_registry(), "health")
        assert outbox.store(conn, report.messages, kind="quality", department="health",
                            batch_ids=report.batch_ids) == 2
        assert outbox.store(conn, report.messages, kind="quality", department="health",
                            batch_ids=report.batch_ids) == 0
    with transaction(warehouse_url) as conn:
        assert quality.compose(conn, load_registry(), "health") is None  # its batches are covered
        n = conn.execute(text("SELECT COUNT(*) FROM " + ("quality.notified_batches" if conn.dialect.name ==
                                                          "postgresql" else "quality__notified_batches"))).scalar()
    assert n == 1


def test_daily_digest_for_an_opted_in_department_lands_in_the_outbox_without_smtp(
    home: Path, registry_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from citydata_airflow.sender import deliver_pending

    from citydata.domain.time import LOCAL_TZ
    from citydata.notify.service import prepare_department

    raw = yaml.safe_load(registry_file.read_text(encoding="utf-8"))
    raw["departments"]["health"]["digest"] = True
    registry_file.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    monkeypatch.delenv("AIRFLOW_CONN_SMTP_DEFAULT", raising=False)  # the embedded default: no SMTP

    drop("health", "card_visits", "clean.csv", visits(10))
    ingest_department("health")
    now = dt.datetime.now(dt.UTC)
    today = now.astimezone(LOCAL_TZ).date()
    yesterday = today - dt.timedelta(days=1)
    # The first run of a day composes the day before's digest: nothing arrived then.
    assert prepare_department("health", now=now, freshness=False).reports == [f"digest:health:{yesterday}"]

    tomorrow = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(0, 30), LOCAL_TZ)
    prepared = prepare_department("health", now=tomorrow, freshness=False)
    assert prepared.reports == [f"digest:health:{today.isoformat()}"]
    assert prepare_department("health", now=tomorrow + dt.timedelta(hours=1), freshness=False).reports == []

    result = deliver_pending(department="health")
    assert result["transport"] == "outbox" and result["sent"] == 2 * len(OWNERS)
    empty = email.message_from_bytes(sorted(settings().outbox_dir.glob(f"*digest_health_{yesterday}*.eml"))[0]
                                      .read_bytes(), policy=policy.default)
    assert "当天没有收到任何数据交付" in empty.get_body(("plain",)).get_content()
    files = sorted(settings().outbox_dir.glob(f"*digest_health_{today}*.eml"))
    assert len(files) == len(OWNERS)
    msg = email.message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert str(msg["Subject"]) == f"【每日数据汇总】卫健 {today.isoformat()}：1 个交付，入库 10 行，隔离 0 行"
    body = msg.get_body(("plain",)).get_content()
    assert "电子健康卡就诊记录" in body and "当天所有交付均通过检查" in body
    assert deliver_pending(department="health")["sent"] == 0  # written once


def test_english_report_when_the_department_asks_for_it(home: Path, registry_file: Path) -> None:
    from citydata.bootstrap import ensure_schema
    from citydata.notify import quality
    from citydata.warehouse.db import transaction

    raw = yaml.safe_load(registry_file.read_text(encoding="utf-8"))
    raw["departments"]["health"]["language"] = "en"
    registry_file.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    drop_visits_with_defects()
    ingest_department("health")
    reg = load_registry()
    ensure_schema(reg)
    with transaction() as conn:
        report = quality.compose(conn, reg, "health")
    msg = report.messages[0]
    assert str(msg["Subject"]).startswith("[Data quality] Health: 1 deliveries with problems (3 rows quarantined")
    assert msg["Content-Language"] == "en"
    body = msg.get_body(("plain",)).get_content()
    assert "How to fix" in body and "A required value is missing" in body and "修正建议" not in body


def test_kpi_rows_of_a_complete_day_below_target_become_an_alert(home: Path, registry_file: Path) -> None:
    """The kpi_rates DAG's path: computed periods → stored `citydata kpi --json` rows → rate alerts."""
    from citydata.domain.time import LOCAL_TZ
    from citydata.kpi.compute import compute_period
    from citydata.kpi.periods import period_for
    from citydata.notify.alerts import completed_kpi_rows, rate_alerts

    drop("health", "card_visits", "clean.csv", visits(10))
    ingest_department("health")
    yesterday = dt.datetime.now(LOCAL_TZ).date() - dt.timedelta(days=1)
    computed = [compute_period(period_for("day", yesterday))]
    assert computed[0]["complete"] is True

    rows = completed_kpi_rows(computed)
    below = [(r["department"], m) for r in rows for m in ("collection", "sharing") if r[f"{m}_met"] is False]
    assert below  # one day of sparse mock visits cannot be real-time for the whole day
    msgs = rate_alerts(rows)
    assert len(msgs) == len(ENGINEERS)
    assert f"【指标告警】{len(below)} 项" in str(msgs[0]["Subject"])
    assert rate_alerts([dict(r, collection_met=True, sharing_met=True) for r in rows]) == []


def test_deadline_is_left_out_only_under_airflow_dags_test() -> None:
    from citydata_airflow.deadline import under_dags_test

    assert under_dags_test(["/venv/bin/airflow", "dags", "test", "ingest_water"])
    assert under_dags_test(["airflow", "-v", "dags", "test", "ingest_water", "2026-11-28"])
    assert not under_dags_test(["airflow", "scheduler"])
    assert not under_dags_test(["airflow", "dag-processor"])
    assert not under_dags_test(["pytest", "tests/"])


def test_warnings_only_deliveries_are_bundled_at_most_daily(home: Path, registry_file: Path) -> None:
    """Non-local plates are a warning (rows load): reported, but not after every 15-minute run."""
    from citydata.notify.service import prepare_department

    res = load_registry().resource("parking", "sessions")

    def deliver(name: str, seed: int) -> None:
        rows = generators.render(clean_rows(res, 8, seed, dt.datetime.now(dt.UTC)), "csv")
        rows[1]["plate_no"] = "京A12345"  # well-formed, not local: warning severity
        drop("parking", "sessions", name, rows)
        [record] = ingest_department("parking")
        assert record.status == "loaded" and record.rows_quarantined == 0

    now = dt.datetime.now(dt.UTC)
    deliver("a.csv", 1)
    assert [k.split(":")[0] for k in prepare_department("parking", now=now, freshness=False).reports] == ["quality"]
    deliver("b.csv", 2)
    assert prepare_department("parking", now=now + dt.timedelta(hours=1), freshness=False).reports == []
    later = prepare_department("parking", now=now + dt.timedelta(hours=25), freshness=False)
    assert [k.split(":")[0] for k in later.reports] == ["quality"]
    [row] = fetch("SELECT message FROM quality.notifications WHERE report_key = :k", k=later.reports[0])
    body = email.message_from_string(row["message"], policy=policy.default).get_body(("plain",)).get_content()
    assert "parking/sessions/b.csv" in body and "parking/sessions/a.csv" not in body
    assert "警告（已入库）" in body and "linyi:plate_no" in body
