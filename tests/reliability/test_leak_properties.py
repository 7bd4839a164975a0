"""Nothing leaked, as a property (hypothesis): whatever a department delivers to health/card_visits or
parking/sessions — with or without a header row, with broken values, under a file name that carries
a citizen ID, a phone, a patient's name (in Chinese or in pinyin), a plate or an address — no generated sensitive value appears
in clear in any text outside the restricted layers (audit rows, .error.json, validation reports,
emails and the outbox, Airflow handles and records, log lines). Both warehouse backends.
"""

from __future__ import annotations

import csv
import datetime as dt
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citydata.app.audit import audit_rows
from citydata.config import settings as cfg_now
from citydata.domain.ids import citizen_id_check_digit
from citydata.ingest import tasks
from citydata.notify.service import prepare_department
from scripts.reliability_report import record_outcome
from tests.helpers import leaks, local_text, outgoing_texts, pinyin_name, recent

NOW = recent()
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛超秀霞桂英"
PROVINCE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"

surname = st.sampled_from(["张", "王", "李", "赵", "刘", "陈", "杨", "黄", "周", "吴", "欧阳", "司马"])
person_name = st.builds(lambda s, g: s + g, surname, st.text(GIVEN, min_size=1, max_size=2))
citizen_id = st.builds(
    lambda region, born, seq: (lambda first: first + citizen_id_check_digit(first))(
        f"{region}{born:%Y%m%d}{seq:03d}"),
    st.sampled_from(["371321", "371302", "370102"]), st.dates(dt.date(1940, 1, 1), dt.date(2015, 12, 31)),
    st.integers(0, 999))
phone = st.builds(lambda p, n: f"1{p}{n:09d}", st.sampled_from("3456789"), st.integers(0, 10**9 - 1))
plate = st.builds(lambda letter, tail: f"鲁{letter}{tail}", st.sampled_from(PROVINCE_LETTERS),
                  st.text("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=5, max_size=6))
address = st.builds(lambda road, n: f"界湖街道{road}路{n}号", st.sampled_from(["幸福", "人民", "澳柯玛", "振兴"]),
                    st.integers(1, 999))
person = st.fixed_dictionaries({"citizen_id": citizen_id, "name": person_name, "phone": phone})
delivery = st.fixed_dictionaries({
    "resource": st.sampled_from(["card_visits", "sessions"]),
    "header": st.booleans(),
    "people": st.lists(person, min_size=1, max_size=4),
    "plates": st.lists(plate, min_size=1, max_size=4),
    "broken": st.sampled_from(["none", "blank_required", "bad_format"]),
    "name_carries": st.sampled_from(["nothing", "citizen_id", "phone", "name", "plate", "address", "pinyin"]),
    "address": address,
    "pinyin": pinyin_name(),
})
VISIT_HEADER = ["visit_id", "citizen_id", "patient_name", "phone", "institution_id", "visit_type", "visit_time",
                "updated_at"]
SESSION_HEADER = ["session_id", "lot_id", "plate_no", "entry_time", "exit_time", "fee_yuan", "status", "updated_at"]


def rows_of(d: dict, n: int) -> tuple[str, list[str], list[list[str]]]:
    t, u = local_text(NOW), local_text(NOW + dt.timedelta(minutes=1))
    if d["resource"] == "card_visits":
        rows = [[f"JZ{n:09d}{i:010d}", p["citizen_id"], p["name"], p["phone"], "YL01001", "outpatient", t, u]
                for i, p in enumerate(d["people"])]
        header, blank = VISIT_HEADER, 2
    else:
        rows = [[f"PS{n:011d}{i:010d}", "TC010001", pl, t, "", "3.5", "in", u] for i, pl in enumerate(d["plates"])]
        header, blank = SESSION_HEADER, 2
    if d["broken"] == "blank_required":
        rows[0][blank] = ""
    elif d["broken"] == "bad_format":
        rows[-1][0] = "??" + rows[-1][0]
    return ("health" if d["resource"] == "card_visits" else "parking"), header, rows


def file_name(d: dict, n: int) -> str:
    p = d["people"][0]
    carried = {"nothing": "", "citizen_id": p["citizen_id"], "phone": p["phone"], "name": p["name"],
               "plate": d["plates"][0], "address": d["address"], "pinyin": d["pinyin"]}[d["name_carries"]]
    return f"d{n}_{carried}.csv" if carried else f"d{n}.csv"


def sensitive_values(d: dict) -> list[str]:
    # The pinyin name only counts where the file name carries it (it is in no row).
    pinyin = [d["pinyin"]] if d["name_carries"] == "pinyin" else []
    return [v for p in d["people"] for v in p.values()] + d["plates"] + [d["address"], d["address"][4:]] + pinyin


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_no_generated_sensitive_value_leaves_the_restricted_layers(warehouse_url: str, monkeypatch: pytest.MonkeyPatch,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("CITYDATA_STABLE_SECONDS", "0")
    totals = {"examples": 0, "files": 0, "rejected": 0, "texts": 0, "pinyin": 0}
    seen: list[str] = []

    @settings(max_examples=6, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(st.lists(delivery, min_size=1, max_size=3))
    def run(deliveries: list[dict]) -> None:
        cfg = cfg_now()
        depts = set()
        for n, d in enumerate(deliveries):
            dept, header, rows = rows_of(d, totals["files"] + n)
            path = cfg.landing_dir / dept / ("card_visits" if dept == "health" else "sessions") / file_name(d, n)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("w", encoding="utf-8", newline="") as fh:
                w = csv.writer(fh)
                if d["header"]:
                    w.writerow(header)
                w.writerows(rows)
            depts.add(dept)
        caplog.clear()
        records, handles = [], []
        with caplog.at_level("INFO"):
            for dept in sorted(depts):
                hs = tasks.list_waiting(dept)
                handles += hs
                records += [tasks.ingest_path(dept, h) for h in hs]
                prepare_department(dept, freshness=False)
        assert not [p for p in cfg.landing_dir.rglob("*") if p.is_file()], "every delivery left the landing zone"
        texts = outgoing_texts([*caplog.messages, *handles, json.dumps(records, ensure_ascii=False, default=str),
                                json.dumps(audit_rows(), ensure_ascii=False, default=str)])
        values = [v for d in deliveries for v in sensitive_values(d)]
        seen.extend(values)
        found = leaks(values, texts)
        assert found == [], found[:5]
        totals["examples"] += 1
        totals["files"] += len(deliveries)
        totals["pinyin"] += sum(d["name_carries"] == "pinyin" for d in deliveries)
        totals["rejected"] += sum(r["status"] == "rejected" for r in records)
        totals["texts"] += len(texts)

    row = {"name": f"no_leak_property[{warehouse_url.split(':')[0]}]", "rows_lost": None, "ok": False,
           "injected": "", "outcome": "property failed"}
    try:
        run()
        assert totals["pinyin"] > 0, "no example delivered a file name carrying a pinyin name"
        row.update(ok=True, rows_lost=0)
    finally:
        row["injected"] = (f"{totals['examples']} random examples: header-less or not, broken values, file names "
                           "carrying IDs, phones, names (Chinese, pinyin), plates, addresses (health, parking)")
        if row["ok"]:
            row["outcome"] = (f"{totals['files']} files ({totals['rejected']} rejected), {len(seen)} generated "
                              f"sensitive values, none in {totals['texts']} outgoing texts")
        record_outcome("leaks", row["name"], row)
