"""What a department owner reads: Chinese first, fields by their Chinese names, each problem once,
no placeholders or internal addresses; checked on the email a real SMTP server received, in .error.json,
and rendered in real Chromium (screenshot under test-artifacts/).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from email.message import EmailMessage
from pathlib import Path

import pytest
import yaml

from citydata.config import settings
from citydata.ingest.pipeline import ingest_department
from citydata.mock import generators
from citydata.mock.delivery import clean_rows
from citydata.registry import load_registry
from citydata.render.reasons import rejection_text
from tests.helpers import Inbox, drop, headless_chromium, reserve_port

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
OWNER = "water-owner@yinan-water.example.cn"
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def registry_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    raw = yaml.safe_load((REPO / "include" / "departments.yaml").read_text(encoding="utf-8"))
    for name in raw["departments"]:
        raw["departments"][name]["owner_emails"] = [OWNER.replace("water", name)]
        raw["departments"][name]["digest"] = False
    path = tmp_path / "departments.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("CITYDATA_REGISTRY", str(path))
    monkeypatch.setenv("CITYDATA_EXPECTATIONS_DIR", str(REPO / "expectations"))
    monkeypatch.setenv("CITYDATA_ALERT_EMAILS", "")  # no freshness alerts to engineers: owners' mail only
    return path


@pytest.fixture
def inbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Inbox:
    box = Inbox()
    box.start()
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", f"smtp://127.0.0.1:{box.port}?disable_tls=true&disable_ssl=true"
                       "&timeout=5&retry_limit=0&from_email=citydata%40bigdata.example.cn")
    yield box
    box.stop()


def notify(department: str) -> dict:
    from citydata_airflow.sender import notify_department

    return notify_department(department, run_id="manual__owners")


def rows_of(department: str, resource: str, n: int, seed: int = 5) -> list[dict]:
    res = load_registry().resource(department, resource)
    return generators.render(clean_rows(res, n, seed, dt.datetime.now(dt.UTC)), "csv")


def bodies(msg: EmailMessage) -> tuple[str, str]:
    return msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()


def deliver_water_with_every_kind_of_problem() -> None:
    """Meters with a row missing a required field (suite not_null + built-in required), a file in a folder
    that names no resource, and a ZIP archive named .csv."""
    meters = rows_of("water", "meters", 10)
    meters[3]["status"] = ""
    drop("water", "meters", "meters.csv", meters)
    misplaced = settings().landing_dir / "water" / "meter_reading" / "readings.csv"
    misplaced.parent.mkdir(parents=True)
    misplaced.write_text("meter_id,reading_time\nSW1,2026-01-01 00:00:00\n", encoding="utf-8")
    (settings().landing_dir / "water" / "meters" / "export.csv").write_bytes(b"PK\x03\x04" + bytes(60))
    records = {r.source: r for r in ingest_department("water", run_id="manual__owners")}
    assert records["water/meters/meters.csv"].status == "partial"
    assert records["water/meter_reading/readings.csv"].status == "rejected"  # the department's own path
    assert records["water/meters/export.csv"].status == "rejected"


def test_rejection_texts_are_chinese_first_and_keep_the_code() -> None:
    reg = load_registry(REPO / "include" / "departments.yaml")
    water = reg.department("water")
    text = rejection_text("not accepted", "folder 'meterz' is not a resource of department water", department=water)
    assert text.startswith("文件放置位置") and text.endswith("（not accepted）")
    assert "landing/water/meter_readings/（智能水表读数）" in text and "landing/water/meters/（水表档案）" in text
    missing = rejection_text("missing required column(s)", "reading_m3, meter_id not in header ['a', 'b']",
                             department=water, resource=water.resources["meter_readings"])
    assert "累计读数(立方米)（reading_m3）" in missing and "水表编号（meter_id）" in missing
    assert "'a'" not in missing  # the delivered header is not quoted
    bad = rejection_text("too many bad rows", "7 of 10 rows failed checks (limit 50%): required:x: 7 row(s)")
    assert "10 行中 7 行未通过检查，上限 50%" in bad and "required:x" not in bad
    unknown = rejection_text("something new", "http://127.0.0.1:8600/api/v1/sessions refused")
    assert CJK.match(unknown) and "127.0.0.1" not in unknown and "（something new）" in unknown
    assert rejection_text("not a text file", "", lang="en").endswith("(not a text file)")


def test_quality_email_reads_right_for_the_owner(warehouse_url: str, registry_file: Path, inbox: Inbox) -> None:
    deliver_water_with_every_kind_of_problem()
    assert notify("water")["sent"] == 1
    [msg] = inbox.messages("quality")
    plain, html = bodies(msg)
    for body in (plain, html):
        # each problem once: the row failing the suite's not_null and the built-in required is one check
        assert "required:status" in body and "not_null:status" not in body
        assert "<resource>" not in body and "&lt;resource&gt;" not in body and "YYYY-MM-DD" not in body
        assert "_unknown/readings.csv" not in body.replace("rejected/water/_unknown/", "")
        assert "water/meter_reading/readings.csv" in body
        assert "landing/water/meter_readings/（智能水表读数）" in body  # the valid folders
        assert "文件不是文本文件" in body and "（not a text file）" in body and "不要直接提交 Excel 工作簿或压缩包" in body
        assert "not a text file:" not in body and "not accepted:" not in body  # no English sentences
        assert "状态（status）" in body
        assert re.search(r"rejected/water/meters/\d{4}-\d{2}-\d{2}/export\.csv", body)
    headings = [h.strip() for h in re.findall(r"^## (.+)$", plain, flags=re.M)]
    assert [h[:2] for h in headings[:4]] == ["一、", "二、", "三、", "四、"] and headings[3] == "四、被拒收的文件"
    atts = {a.get_filename(): a for a in msg.iter_attachments()}
    csv_part = atts["quarantine_water_meters.csv"]
    assert csv_part.get_content_type() == "text/csv" and csv_part.get_content_charset() == "utf-8"
    assert all(a.get_content_charset() == "utf-8" for a in atts.values())
    error = json.loads(next(settings().rejected_dir.glob("water/_unknown/*/readings.csv.error.json")).read_text("utf-8"))
    assert list(error)[0] == "message" and CJK.match(error["message"])
    assert "landing/water/meters/（水表档案）" in error["message"] and error["message"].endswith("（not accepted）")
    assert error["file"] == "water/meter_reading/readings.csv" and error["reason"] == "not accepted"


def test_warnings_only_delivery_is_not_asked_to_redeliver(home: Path, registry_file: Path, inbox: Inbox) -> None:
    rows = rows_of("parking", "sessions", 6)
    rows[1]["plate_no"] = "京A12345"  # well-formed but not local: a warning, every row loads
    drop("parking", "sessions", "s.csv", rows)
    [record] = ingest_department("parking")
    assert record.status == "loaded" and record.rows_quarantined == 0
    assert notify("parking")["sent"] == 1
    [msg] = inbox.messages("quality")
    assert "有警告" in str(msg["Subject"]) and "无需重新提交" in str(msg["Subject"])
    assert "存在问题" not in str(msg["Subject"])
    plain, _ = bodies(msg)
    assert "无需重新提交" in plain and "处理后重新提交" not in plain and "存在问题" not in plain
    assert "已全部入库，有警告项" in plain  # the delivery's 说明


def test_a_failed_pull_names_no_internal_address(home: Path, registry_file: Path, inbox: Inbox,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from citydata.errors import CitydataError
    from citydata.sources.pull import make_source, pull

    held = reserve_port()  # bound, never listening: connections are refused
    monkeypatch.setenv("CITYDATA_PARKING_API_URL", f"http://127.0.0.1:{held.getsockname()[1]}")
    monkeypatch.setenv("CITYDATA_PARKING_API_TOKEN", "t0ken")
    res = load_registry().resource("parking", "sessions")
    src = make_source(res)
    src.max_retries, src.backoff = 1, 0.01
    with held, pytest.raises(CitydataError):
        pull(res, source=src)
    assert notify("parking")["sent"] == 1
    [msg] = inbox.messages("quality")
    for body in bodies(msg):
        assert "127.0.0.1" not in body and "http://" not in body and "/api/v1/" not in body
        assert "接口拉取" in body and "数据来源接口或数据库暂时无法访问" in body


def test_demo_lists_every_new_email(home: Path, capsys: pytest.CaptureFixture) -> None:
    from citydata.app.demo import outbox_step
    from citydata.notify.message import build
    from citydata.notify.outbox import write_eml

    for kind, to in (("quality", "a@x.cn"), ("alert", "ops@x.cn"), ("digest", "b@x.cn")):
        write_eml(build(report_key=f"{kind}:k", kind=kind, department=None, recipient=to, subject=f"主题 {kind}",
                        text="t", html="<p>h</p>", lang="zh-CN"), settings().outbox_dir)
    files = outbox_step(print)
    out = capsys.readouterr().out
    assert len(files) == 3 and "3 new" in out
    assert all(f"[{k}]" in out and f"主题 {k}" in out for k in ("quality", "alert", "digest"))


def test_email_html_part_renders_in_chinese_in_chromium(home: Path, registry_file: Path, inbox: Inbox,
                                                        tmp_path: Path) -> None:
    """The HTML alternative exactly as received, opened from disk in headless Chromium."""
    from selenium.webdriver.common.by import By

    deliver_water_with_every_kind_of_problem()
    notify("water")
    [msg] = inbox.messages("quality")
    part = msg.get_body(("html",))
    page = tmp_path / "email.html"
    page.write_bytes(part.get_payload(decode=True))  # the bytes the mail client gets, charset from the part
    assert part.get_content_charset() == "utf-8"
    driver, profile = headless_chromium(size="1200,1800")
    try:
        driver.get(page.as_uri())
        assert driver.execute_script("return document.characterSet") == "UTF-8"
        assert driver.title == "供水数据质量报告"
        headings = [h.text for h in driver.find_elements(By.TAG_NAME, "h3")]
        assert headings[:4] == ["一、交付概况", "二、未通过的检查项", "三、问题数据示例（敏感信息已脱敏）", "四、被拒收的文件"]
        tables = driver.find_elements(By.TAG_NAME, "table")
        assert len(tables) == 4 and all(t.size["width"] > 0 for t in tables)
        text = driver.find_element(By.TAG_NAME, "body").text
        assert "县水务集团数据负责人：您好！" in text and "状态（status）" in text and "�" not in text
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "email_quality_zh.png"))
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    assert (ARTIFACTS / "email_quality_zh.png").stat().st_size > 10_000
