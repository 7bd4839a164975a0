"""Indicator reports to the leadership (registry ``leadership:``) against a real SMTP server.

The monthly progress report, the quarterly bulletin and the yearly assessment report go out
through the sender the kpi_reports DAG calls, once per recipient however often it runs.
"""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from pathlib import Path

import pytest
import yaml

from citydata.domain.time import LOCAL_TZ
from citydata.errors import RegistryError
from citydata.kpi.jobs import DueReport, due_reports
from citydata.kpi.periods import parse_period
from citydata.registry import load_registry, parse_registry
from tests.helpers import Inbox, build_scenario, fetch

REPO = Path(__file__).resolve().parents[2]
LEADERS = ["office@yinan.example.cn", "deputy@yinan.example.cn"]


def scenario_with_leaders(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, recipients: list[str]) -> None:
    """The KPI scenario (2026-11-10) with a leadership section in its registry."""
    build_scenario(url, tmp_path, monkeypatch)
    path = tmp_path / "registry" / "departments.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["leadership"] = {"name_zh": "领导小组办公室", "name_en": "Leading Group Office", "recipients": recipients}
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")


def send(keys: list[str]) -> dict:
    from citydata_airflow.sender import send_reports

    return send_reports(keys, run_id="scheduled__test")


def shipped() -> dict:
    return yaml.safe_load((REPO / "include" / "departments.yaml").read_text(encoding="utf-8"))


def test_registry_leadership_section_is_validated() -> None:
    reg = load_registry(REPO / "include" / "departments.yaml")
    assert reg.leadership.name_zh == "领导小组办公室" and reg.leadership.recipients
    for bad, words in (({"recipients": ["not-an-address"]}, "leadership, recipients"),
                       ({"recipients": ["a@x.cn", "A@x.cn"]}, "twice"),
                       ({"monthly_day": 28}, "leadership, monthly_day"),
                       ({"receivers": ["a@x.cn"]}, "leadership, receivers")):
        raw = shipped()
        raw["leadership"] = bad
        with pytest.raises(RegistryError) as exc:
            parse_registry(raw)
        assert words in str(exc.value) and "\n" not in str(exc.value), str(exc.value)


def test_due_reports_monthly_before_the_28th_quarterly_and_yearly() -> None:
    def on(y: int, m: int, d: int, day: int = 25) -> list[DueReport]:
        return due_reports(dt.datetime(y, m, d, 6, tzinfo=LOCAL_TZ), day)

    assert on(2026, 11, 24) == []
    assert on(2026, 11, 25) == on(2026, 11, 27) == [DueReport("2026-11", True)]  # 26, 27: a missed run catches up
    assert on(2026, 11, 28) == []
    assert on(2026, 11, 20, day=20) == [DueReport("2026-11", True)]
    assert on(2026, 11, 1) == [DueReport("2026-10", False)]  # the final month report: written, not sent again
    assert on(2026, 10, 1) == [DueReport("2026-09", False), DueReport("2026-Q3", True)]
    assert on(2026, 10, 3) == [DueReport("2026-Q3", True)]
    assert on(2027, 1, 1) == [DueReport("2026-12", False), DueReport("2026-Q4", True), DueReport("2026", True)]
    assert on(2027, 1, 8) == []
    assert due_reports(dt.datetime(2026, 5, 3, tzinfo=dt.UTC), 25, override="2026") == [DueReport("2026", True)]


def test_year_period_and_report_from_the_cli(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture) -> None:
    import json

    from citydata.app.cli import main

    p = parse_period("2026")
    assert (p.kind, p.key, p.first_day, p.last_day) == ("year", "2026", dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    url = f"sqlite:///{home / 'warehouse.db'}"
    monkeypatch.setenv("CITYDATA_WAREHOUSE_URL", url)
    build_scenario(url, tmp_path, monkeypatch)
    assert main(["kpi", "--period", "year", "--date", "2026-11-10", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    county = rows[-1]
    assert county["department"] == "county" and county["period"] == "2026" and county["period_type"] == "year"
    assert county["period_start"] == "2026-01-01T00:00:00+08:00" and county["period_end"] == "2027-01-01T00:00:00+08:00"
    assert main(["report", "--year", "2026"]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path == home / "reports" / "kpi-2026.zh-CN.html"
    html = path.read_text(encoding="utf-8")
    assert "年度考核报告" in html and html.count("<svg") == 2 and "2026-11" in html  # the trend: one point a month
    with pytest.raises(SystemExit) as exc:
        main(["report", "--year", "26"])
    assert exc.value.code == 2


def _decoded(msg: EmailMessage) -> tuple[str, str, dict[str, bytes]]:
    plain = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    return plain, html, {a.get_filename(): a.get_payload(decode=True) for a in msg.iter_attachments()}


def test_monthly_report_reaches_each_leader_once(warehouse_url: str, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch, inbox: Inbox) -> None:
    scenario_with_leaders(warehouse_url, tmp_path, monkeypatch, LEADERS)

    first = send(["2026-11"])
    again = send(["2026-11"])  # the next day's run (the 26th) or a retry: nothing new

    assert first["transport"] == "smtp" and first["sent"] == 2 and first["stored"] == 2
    assert again == {"stored": 0, "transport": "smtp", "sent": 0, "failed": 0}
    msgs = inbox.messages("report")
    assert sorted(str(m["To"]) for m in msgs) == sorted(LEADERS) and len(inbox.received) == 2
    for m in msgs:
        assert "【月度进展报告】" in str(m["Subject"]) and "2026-11" in str(m["Subject"])
        plain, html, atts = _decoded(m)
        for body in (plain, html):
            assert "领导小组办公室" in body and "实时采集率" in body and "实时共享率" in body
            assert "全县指标与目标" in body and "未达标" in body and "80.0%" in body
        report = atts["kpi-2026-11.zh-CN.html"].decode("utf-8")
        assert "月度进展报告" in report and "断档清单" in report
    rows = fetch("SELECT report_key, recipient, status, transport FROM quality.notifications WHERE kind = 'report'")
    assert sorted((r["report_key"], r["recipient"], r["status"], r["transport"]) for r in rows) == sorted(
        ("leadership:month:2026-11", r, "sent", "smtp") for r in LEADERS)


def test_a_new_recipient_gets_the_report_others_do_not_get_it_again(warehouse_url: str, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch,
                                                                    inbox: Inbox) -> None:
    scenario_with_leaders(warehouse_url, tmp_path, monkeypatch, LEADERS[:1])
    assert send(["2026-Q4"])["sent"] == 1
    path = tmp_path / "registry" / "departments.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["leadership"]["recipients"] = LEADERS
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert send(["2026-Q4"])["sent"] == 1
    assert [str(m["To"]) for m in inbox.messages("report")] == LEADERS
    assert all("【季度通报】" in str(m["Subject"]) for m in inbox.messages("report"))


def test_smtp_down_keeps_the_report_pending_then_sends_it_once(home: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch, inbox: Inbox) -> None:
    from citydata_airflow.sender import NotificationsPending

    url = f"sqlite:///{home / 'warehouse.db'}"
    monkeypatch.setenv("CITYDATA_WAREHOUSE_URL", url)
    scenario_with_leaders(url, tmp_path, monkeypatch, LEADERS[:1])
    inbox.stop()
    with pytest.raises(NotificationsPending):
        send(["2026"])
    inbox.start()
    assert send(["2026"])["sent"] == 1 and send(["2026"])["sent"] == 0
    [msg] = inbox.messages("report")
    assert "【年度考核报告】" in str(msg["Subject"])
    assert "kpi-2026.zh-CN.html" in _decoded(msg)[2]


def test_no_recipients_sends_nothing(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    inbox: Inbox) -> None:
    from citydata.notify.leadership import prepare

    url = f"sqlite:///{home / 'warehouse.db'}"
    monkeypatch.setenv("CITYDATA_WAREHOUSE_URL", url)
    scenario_with_leaders(url, tmp_path, monkeypatch, [])
    prepared = prepare("2026-11")
    assert prepared.stored == 0 and prepared.recipients == [] and prepared.report_key == "leadership:month:2026-11"
    assert send(["2026-11"])["sent"] == 0 and not inbox.received
    assert fetch("SELECT * FROM quality.notifications WHERE kind = 'report'") == []
