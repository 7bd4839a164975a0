"""The one masking helper every outlet uses (reports, emails, .error.json, sharing layer)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from citydata.domain.masking import (
    mask_address,
    mask_idcard,
    mask_name,
    mask_phone,
    mask_plate,
    mask_record,
    mask_value,
    safe_label,
)
from citydata.registry import load_registry
from tests.helpers import pinyin_name


def test_citizen_id_keeps_region_and_check_digit() -> None:
    assert mask_idcard("37132119900101123X") == "371321********123X"


@pytest.mark.parametrize(("name", "masked"), [("张三", "张*"), ("张三丰", "张**"), ("欧阳修", "欧阳*"), ("李", "李*")])
def test_name_keeps_the_surname(name: str, masked: str) -> None:
    assert mask_name(name) == masked


def test_phone_plate_address() -> None:
    assert mask_phone("13812341234") == "138****1234"
    assert mask_phone("0539-3221234") == "********1234"
    assert mask_plate("鲁Q12345") == "鲁Q***45"
    assert mask_plate("鲁QD12345") == "鲁Q****45"
    assert mask_address("山东省临沂市沂南县界湖街道人民路8号3号楼") == "界湖街道***"
    assert mask_address("某地某村") == "***"


def test_blank_and_unknown_kinds() -> None:
    assert mask_value(None, "idcard") is None
    assert mask_value("", "name") == ""
    assert mask_value("secret", "no-such-kind") == "***"  # fail closed
    assert mask_value("x", None) == "x"


def test_mask_record_masks_every_sensitive_field_of_the_registry() -> None:
    res = load_registry().resource("health", "card_visits")
    rec = {"visit_id": "JZ1", "citizen_id": "37132119900101123X", "patient_name": "王小明", "phone": "13912345678",
           "visit_type": "outpatient"}
    out = mask_record(rec, res)
    assert out == {"visit_id": "JZ1", "citizen_id": "371321********123X", "patient_name": "王**",
                   "phone": "139****5678", "visit_type": "outpatient"}
    assert rec["patient_name"] == "王小明"  # the input is not modified


# --- safe_label: file names leave the raw layers as labels ----------------------------------------

@pytest.mark.parametrize(("name", "label"), [
    ("zhangsan_card_visits.csv", "********_card_visits.csv"),
    ("Li-Wei 2026-12-01.csv", "**-*** 2026-12-01.csv"),
    ("张三_就诊记录.csv", "**_就诊记录.csv"),
    ("export_WangXiuying_daily.csv", "export_***********_daily.csv"),
    ("card_visits_20261201T083000Z_v2.csv", "card_visits_20261201T083000Z_v2.csv"),
    ("MeterReadings-Final.CSV", "MeterReadings-Final.CSV"),
    ("readings~3fa9c0d1e2.csv", "readings~3fa9c0d1e2.csv"),  # a checksum (landing.safe_name) names nobody
    ("Lü_Bu.csv", "**_**.csv"),  # letters of any script must be known words
    ("37132119900101123X.csv", "371321********123X.csv"),
])
def test_safe_label_stars_names_and_keeps_known_words(name: str, label: str) -> None:
    assert safe_label(name) == label


def test_safe_label_keeps_every_generated_name(tmp_path: Path) -> None:
    """What `citydata generate` and the live mock (citydata.mock.live) write survives unchanged."""
    from citydata.mock.generate import generate

    reg = load_registry()
    at = dt.datetime(2026, 12, 1, 8, 30, tzinfo=dt.UTC)
    paths = [p for d in reg.departments for p in generate(reg, d, rows=2, seed=7, out=tmp_path, now=at)]
    assert len(paths) == len(reg.resources)
    names = [str(p.relative_to(tmp_path)) for p in paths]
    names += [f"{r.department}/{r.name}/{r.name}_{kind}_{at:%Y%m%dT%H%M%S}_s42.{r.format}" for r in reg.resources
              for kind in ("registry", "remote", "manual", "late")]
    for name in names:
        assert [safe_label(p) for p in name.split("/")] == name.split("/"), name


PIECES = st.sampled_from(["card_visits", "meter_readings", "export", "daily", "20261201", "2026-12-01", "T0830",
                          "v2", "3fa9c0d1e2", "batch", "part3", "", "sessions", "data", "final", "health"])


@settings(max_examples=400, deadline=None)
@given(pinyin_name(), st.lists(PIECES, max_size=3), st.lists(PIECES, max_size=3),
       st.sampled_from(["_", "-", " ", "", "."]), st.sampled_from(["_", "-", " ", ""]),
       st.sampled_from([".csv", ".jsonl", ".parquet", ""]))
@example("zhangsan", [], ["card", "visits"], "", "_", ".csv")
@example("Li-Wei", [], ["2026-12-01"], "", " ", ".csv")
def test_a_pinyin_name_never_survives_safe_label(name: str, before: list[str], after: list[str], sep1: str, sep2: str,
                                                 ext: str) -> None:
    """Wherever a pinyin name sits in a file name, every one of its letters is starred (labels keep the length)."""
    head = "_".join(p for p in before if p)
    tail = "_".join(p for p in after if p)
    file_name = f"{head}{sep1 if head else ''}{name}{sep2 if tail else ''}{tail}{ext}"
    label = safe_label(file_name)
    assert len(label) == len(file_name)
    start = len(head) + (len(sep1) if head else 0)
    shown = label[start:start + len(name)]
    assert all(c == "*" for c, o in zip(shown, name, strict=True) if o.isalpha()), (file_name, label)
