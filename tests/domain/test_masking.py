"""The one masking helper every outlet uses (reports, emails, .error.json, sharing layer)."""

from __future__ import annotations

import pytest

from citydata.domain.masking import (
    mask_address,
    mask_idcard,
    mask_name,
    mask_phone,
    mask_plate,
    mask_record,
    mask_value,
)
from citydata.registry import load_registry


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
