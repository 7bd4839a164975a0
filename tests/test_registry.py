"""The registry: the shipped one is valid; every kind of mistake is one message naming the entry."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from citydata.errors import RegistryError
from citydata.quality.suites import expectations_dir
from citydata.registry import load_registry, parse_registry

REGISTRY = Path(__file__).resolve().parent.parent / "include" / "departments.yaml"


@pytest.fixture
def raw() -> dict:
    return yaml.safe_load(REGISTRY.read_text(encoding="utf-8"))


def test_shipped_registry_has_the_four_departments_and_valid_resources() -> None:
    reg = load_registry(REGISTRY)
    assert set(reg.departments) == {"water", "gas", "parking", "health"}
    assert len(reg.resources) >= 10
    visits = reg.resource("health", "card_visits")
    assert visits.field("citizen_id").sensitive == "idcard"
    assert visits.table == "health__card_visits"
    assert "visit_id" in visits.required_fields
    assert reg.targets.collection_rate == 0.8 and reg.targets.energy_auto_coverage == 0.5


def _error(raw: dict) -> str:
    with pytest.raises(RegistryError) as exc:
        parse_registry(raw, Path("reg.yaml"))
    return str(exc.value)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda r: r["departments"]["water"]["resources"]["meters"].update(primary_key=["nope"]),
         "department water, resource meters: primary_key field 'nope' is not one of the fields"),
        (lambda r: r["departments"]["gas"]["resources"]["meters"]["fields"][2].update(type="decimal"),
         "department gas, resource meters, field district, type"),
        (lambda r: r["departments"]["parking"]["resources"]["lots"].update(event_time="name"),
         "department parking, resource lots: event_time 'name' must have type timestamp"),
        (lambda r: r["departments"]["health"]["resources"]["card_visits"].update(sharing_type="随便"),
         "department health, resource card_visits, sharing_type"),
        (lambda r: r["departments"]["health"]["resources"]["card_visits"].update(consumers=[]),
         "department health, resource card_visits: 有条件共享 (conditional sharing) needs at least one consumer"),
        (lambda r: r["departments"]["health"]["resources"]["card_visits"].update(consumers=["tax"]),
         "department health, resource card_visits: unknown consumer 'tax'"),
        (lambda r: r["departments"]["water"]["resources"]["meter_readings"]["fields"].append(
            {"name": "meter_id", "type": "string"}),
         "department water, resource meter_readings: duplicate field(s) ['meter_id']"),
        (lambda r: r["departments"]["water"]["resources"]["meter_readings"]["fields"][0].update(name="Meter-ID"),
         "field name 'Meter-ID' is not a valid identifier"),
        (lambda r: r["departments"].update({"Bad Dept": {}}), "department name 'Bad Dept' is not a valid identifier"),
        (lambda r: r["departments"]["water"]["resources"].update({"x; drop table": {}}),
         "resource name 'x; drop table' is not a valid identifier"),
        (lambda r: r["departments"]["water"].update(owner_emails=["not-an-email"]),
         "department water, owner_emails: owner email 'not-an-email' is not an email address"),
        (lambda r: r["departments"]["water"]["resources"]["meters"].update(colour="blue"),
         "department water, resource meters, colour: Extra inputs are not permitted"),
        (lambda r: r["departments"]["gas"]["resources"]["meters"].pop("update_cycle"),
         "department gas, resource meters, update_cycle: Field required"),
        (lambda r: r["departments"]["gas"].update(resources={}), "department gas: has no resources"),
    ],
)
def test_bad_registry_names_department_resource_and_field(raw: dict, mutate, expected: str) -> None:
    bad = copy.deepcopy(raw)
    mutate(bad)
    message = _error(bad)
    assert message.startswith("reg.yaml: ")
    assert expected in message
    assert "\n" not in message


def test_unreadable_and_invalid_yaml_files(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="cannot read registry"):
        load_registry(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("departments: [unclosed\n", encoding="utf-8")
    with pytest.raises(RegistryError, match="broken.yaml: not valid YAML"):
        load_registry(broken)
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(RegistryError, match="expected a mapping with a 'departments' key"):
        load_registry(empty)


def test_registry_and_suites_may_live_anywhere(tmp_path: Path, raw: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """A department the code has never seen works from configuration alone (CITYDATA_REGISTRY)."""
    raw["departments"]["heat"] = {
        "name_zh": "供热", "name_en": "Heating", "provider": "县热力公司", "energy_utility": "heat",
        "resources": {"meter_readings": copy.deepcopy(raw["departments"]["water"]["resources"]["meter_readings"])},
    }
    conf = tmp_path / "conf"
    (conf / "expectations").mkdir(parents=True)
    path = conf / "registry.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("CITYDATA_REGISTRY", str(path))
    monkeypatch.delenv("CITYDATA_EXPECTATIONS_DIR", raising=False)
    reg = load_registry()
    assert reg.resource("heat", "meter_readings").key == "heat.meter_readings"
    assert expectations_dir() == conf / "expectations"  # the suites' folder beside the registry
    monkeypatch.setenv("CITYDATA_EXPECTATIONS_DIR", str(tmp_path / "elsewhere"))
    assert expectations_dir() == tmp_path / "elsewhere"
